package capture

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// linkTypeNames holds libpcap's names (pcap_datalink_val_to_name) for the
// link types one meets in capture files, so that an error can say
// "unsupported link type 147 (USER0)" as tcpdump users know them.
var linkTypeNames = map[layers.LinkType]string{
	0: "NULL", 1: "EN10MB", 3: "AX25", 6: "IEEE802", 7: "ARCNET", 8: "SLIP",
	9: "PPP", 10: "FDDI", 12: "RAW", 14: "RAW", 50: "PPP_SERIAL", 51: "PPP_ETHER",
	100: "ATM_RFC1483", 101: "RAW", 104: "C_HDLC", 105: "IEEE802_11",
	107: "FRELAY", 108: "LOOP", 113: "LINUX_SLL", 114: "LTALK", 117: "PFLOG",
	119: "PRISM_HEADER", 122: "IP_OVER_FC", 123: "SUNATM",
	127: "IEEE802_11_RADIO", 129: "ARCNET_LINUX", 138: "APPLE_IP_OVER_IEEE1394",
	139: "MTP2_WITH_PHDR", 140: "MTP2", 141: "MTP3", 142: "SCCP", 143: "DOCSIS",
	144: "LINUX_IRDA", 163: "IEEE802_11_RADIO_AVS", 165: "BACNET_MS_TP",
	166: "PPP_PPPD", 169: "GPRS_LLC", 177: "LINUX_LAPD", 187: "BLUETOOTH_HCI_H4",
	189: "USB_LINUX", 192: "PPI", 195: "IEEE802_15_4", 201: "BLUETOOTH_HCI_H4_WITH_PHDR",
	209: "IPMB_LINUX", 215: "IEEE802_15_4_NONASK_PHY", 220: "USB_LINUX_MMAPPED",
	224: "FC_2", 225: "FC_2_WITH_FRAME_DELIMS", 226: "IPNET", 227: "CAN_SOCKETCAN",
	228: "IPV4", 229: "IPV6", 230: "IEEE802_15_4_NOFCS", 231: "DBUS",
	235: "DVB_CI", 239: "NFLOG", 240: "NETANALYZER", 247: "IPOIB", 249: "USBPCAP",
	251: "BLUETOOTH_LE_LL", 252: "WIRESHARK_UPPER_PDU", 253: "NETLINK",
	254: "BLUETOOTH_LINUX_MONITOR", 256: "BLUETOOTH_LE_LL_WITH_PHDR",
	266: "NORDIC_BLE", 276: "LINUX_SLL2",
}

func init() {
	// DLT_USER0..15 are the link types reserved for private use.
	for i := 0; i < 16; i++ {
		linkTypeNames[layers.LinkType(147+i)] = fmt.Sprintf("USER%d", i)
	}
}

// LinkTypeName returns libpcap's name for a link type ("EN10MB",
// "LINUX_SLL2", "USER0"), or "" when it has none here.
func LinkTypeName(lt layers.LinkType) string {
	return linkTypeNames[lt]
}

// describeLinkType formats a link type as "147 (USER0)", or "999" when it
// has no name.
func describeLinkType(lt layers.LinkType) string {
	if name := LinkTypeName(lt); name != "" {
		return fmt.Sprintf("%d (%s)", uint16(lt), name)
	}
	return fmt.Sprintf("%d", uint16(lt))
}
