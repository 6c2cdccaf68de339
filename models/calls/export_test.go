package calls

// SetManyCallers lowers the point where a search walks the newest calls,
// so tests run both plans on a small world.
func (s *Service) SetManyCallers(n int) { s.manyCallers = n }
