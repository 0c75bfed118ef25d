package leasing

// QueuedSaves is how many operations wait for the save in flight, for tests that hold
// a save back.
func QueuedSaves(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}
