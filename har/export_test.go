package har

// SetMaxHeld lowers the Writer's memory cap, for tests of what is past it.
func (w *Writer) SetMaxHeld(n int64) { w.maxHeld = n }
