package models

import (
	"context"
	"database/sql"
	"log/slog"
)

// ThrottleRefused reports that a throttle or rate limit refused an attempt
// of the given kind (a fixed word such as "login_address", never a user's
// input), for the operations metrics. Whatever code refuses calls it.
func (s *Store) ThrottleRefused(kind string) {
	if f := s.onThrottleRefused; f != nil {
		f(kind)
	}
}

// OnThrottleRefused sets what ThrottleRefused calls. The server wires it to
// its metrics once, at start-up, before serving.
func (s *Store) OnThrottleRefused(f func(kind string)) { s.onThrottleRefused = f }

// Pools returns the store's database connection pools by name, for the
// metrics: on SQLite the readers' pool and the writer's, on PostgreSQL one.
func (s *Store) Pools() map[string]*sql.DB {
	out := map[string]*sql.DB{}
	if pool, err := s.db.DB(); err == nil {
		out["main"] = pool
	}
	if s.writerPool != nil {
		out["writer"] = s.writerPool
	}
	return out
}

type loggerKey struct{}

// ContextWithLogger returns ctx carrying l, the logger of the request (or
// job) under way: every line logged through LoggerFrom(ctx) then carries
// what l carries, such as the request's ID.
func ContextWithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// LoggerFrom returns the logger ctx carries, or slog.Default().
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
