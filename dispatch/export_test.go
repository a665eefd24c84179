package dispatch

import "context"

// RescueTurn takes a rescue plan's turn, as a request that needs a plan
// does (tests stand in for a plan being made with it).
func (s *Service) RescueTurn(ctx context.Context) (func(), error) { return s.rescueTurn(ctx) }

// RescueWaiting is how many requests wait for a rescue plan's turn.
func (s *Service) RescueWaiting() int { return int(s.waiting.Load()) }
