package models

// SetExportBatch sets how many people an export reads at a time, so that
// a small account crosses batches.
func (s *Store) SetExportBatch(n int) { s.exportBatchSize = n }
