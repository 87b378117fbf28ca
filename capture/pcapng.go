package capture

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ngInterfaces follows the interfaces of a pcapng file as its packets meet
// them. A packet of an interface whose link type the Decoder cannot read
// (decodable) is skipped, and the interface is warned about once, at its
// first packet. A file whose every interface is of such a type is an error
// instead, found at its end (an interface may be described anywhere before
// its first packet, so no earlier point is sure): warnings met before any
// decodable interface is known are held until one is, and dropped for the
// error if none is.
//
// Interfaces are numbered within their section, as in the file; a new
// section starts their numbering again.
type ngInterfaces struct {
	name    string
	warn    func(error) // nil: warnings are dropped
	skipped uint64      // packets skipped

	cur     []ngInterface // the current section's interfaces met so far, by number
	section int           // the current section, from 0
	good    bool          // an interface of a decodable link type is known
	held    []error       // warnings waiting for good

	// The interfaces of the sections before the current one.
	doneIfaces int
	doneLinks  []layers.LinkType // their undecodable link types, each once
}

// ngInterface is what one interface's packets showed.
type ngInterface struct {
	state ifaceState
	link  layers.LinkType
}

type ifaceState uint8

const (
	ifaceUnmet   ifaceState = iota // no packet of it yet
	ifaceRead                      // decodable: its packets are returned
	ifaceSkipped                   // not decodable: its packets are skipped
)

// packetLink returns the link type of a packet of interface i, and whether
// the packet is to be returned rather than skipped.
func (f *ngInterfaces) packetLink(ng *pcapgo.NgReader, i int) (layers.LinkType, bool, error) {
	if i < len(f.cur) {
		switch it := f.cur[i]; it.state {
		case ifaceRead:
			return it.link, true, nil
		case ifaceSkipped:
			f.skipped++
			return 0, false, nil
		}
	}
	// The interface's first packet (the reader checked the number).
	intf, err := ng.Interface(i)
	if err != nil {
		return 0, false, err
	}
	if i >= len(f.cur) {
		f.cur = append(f.cur, make([]ngInterface, i+1-len(f.cur))...)
	}
	it := &f.cur[i]
	it.link = intf.LinkType
	if decodable(it.link) {
		it.state = ifaceRead
		f.setGood()
		return it.link, true, nil
	}
	it.state = ifaceSkipped
	f.skipped++
	where := fmt.Sprintf("interface %d", i)
	if f.section > 0 {
		where = fmt.Sprintf("section %d, interface %d", f.section+1, i)
	}
	w := fmt.Errorf("%s: %s: %w %s, its packets skipped", f.name, where, ErrLinkType, describeLinkType(it.link))
	if !f.good && slices.ContainsFunc(sectionLinks(ng), decodable) {
		f.setGood() // described, no packet of it yet
	}
	if f.good {
		f.emit(w)
	} else {
		f.held = append(f.held, w)
	}
	return 0, false, nil
}

// setGood notes that a decodable interface is known, and gives the held
// warnings.
func (f *ngInterfaces) setGood() {
	if f.good {
		return
	}
	f.good = true
	for _, w := range f.held {
		f.emit(w)
	}
	f.held = nil
}

func (f *ngInterfaces) emit(w error) {
	if f.warn != nil {
		f.warn(w)
	}
}

// sectionEnd is pcapgo's SectionEndCallback: it is called when a new
// section header is read, with the interfaces of the section before it.
func (f *ngInterfaces) sectionEnd(ifaces []pcapgo.NgInterface, _ pcapgo.NgSectionInfo) {
	links := make([]layers.LinkType, len(ifaces))
	for i, intf := range ifaces {
		links[i] = intf.LinkType
	}
	f.addSection(links)
	f.cur = f.cur[:0]
	f.section++
}

// addSection counts a section's interfaces.
func (f *ngInterfaces) addSection(links []layers.LinkType) {
	f.doneIfaces += len(links)
	for _, lt := range links {
		if decodable(lt) {
			f.setGood()
		} else if !slices.Contains(f.doneLinks, lt) {
			f.doneLinks = append(f.doneLinks, lt)
		}
	}
}

// end is called at the file's clean end. It returns io.EOF, or an error
// wrapping ErrLinkType if the file has interfaces and none is decodable.
func (f *ngInterfaces) end(ng *pcapgo.NgReader) error {
	f.addSection(sectionLinks(ng))
	if f.good || f.doneIfaces == 0 {
		return io.EOF
	}
	f.held = nil // the error says it all
	names := make([]string, len(f.doneLinks))
	for i, lt := range f.doneLinks {
		names[i] = describeLinkType(lt)
	}
	switch {
	case f.doneIfaces == 1:
		return fmt.Errorf("%s: %w %s on its only interface", f.name, ErrLinkType, names[0])
	case len(names) == 1:
		return fmt.Errorf("%s: %w %s on all %d interfaces", f.name, ErrLinkType, names[0], f.doneIfaces)
	}
	return fmt.Errorf("%s: %w on all %d interfaces: %s", f.name, ErrLinkType, f.doneIfaces, strings.Join(names, ", "))
}

// sectionLinks returns the link types of the current section's interfaces
// described so far.
func sectionLinks(ng *pcapgo.NgReader) []layers.LinkType {
	links := make([]layers.LinkType, 0, ng.NInterfaces())
	for i := range ng.NInterfaces() {
		if intf, err := ng.Interface(i); err == nil {
			links = append(links, intf.LinkType)
		}
	}
	return links
}
