package notify

// SetSummaryBatch makes summary runs take few recipients per transaction,
// so tests cross batch boundaries on a small world.
func (s *Service) SetSummaryBatch(n int) { s.summaryBatch = n }
