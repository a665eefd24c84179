package store

import (
	"testing"
)

// TestCustomerHistoryScoped: the last worker of a customer is kept per
// tenant; the unscoped record written before scoping is never read, and
// an erasure of the id deletes it.
func TestCustomerHistoryScoped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openRedis(t).s
	const cust = "cust-7"
	if err := s.rdb.Set(ctx, legacyCustomerLastKey(cust), "w-legacy", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastWorker(ctx, "key-a", cust, "w-a"); err != nil {
		t.Fatalf("SetLastWorker: %v", err)
	}
	tests := []struct {
		tenant, want string
	}{
		{"key-a", "w-a"},
		{"key-b", ""}, // neither A's record nor the legacy one
	}
	for _, tt := range tests {
		if got, err := s.LastWorker(ctx, tt.tenant, cust); err != nil || got != tt.want {
			t.Errorf("LastWorker(%s, %s) = %q, %v; want %q", tt.tenant, cust, got, err, tt.want)
		}
	}
	for _, bad := range [][2]string{{"", cust}, {"key:a", cust}, {"key-a", "*"}} {
		if err := s.SetLastWorker(ctx, bad[0], bad[1], "w-x"); err == nil {
			t.Errorf("SetLastWorker(%q, %q) accepted", bad[0], bad[1])
		}
	}
	if _, err := s.EraseCustomer(ctx, "key-b", cust, t0); err != nil {
		t.Fatalf("EraseCustomer: %v", err)
	}
	if n, err := s.rdb.Exists(ctx, legacyCustomerLastKey(cust)).Result(); err != nil || n != 0 {
		t.Errorf("the legacy record survived an erasure of its id: %d, %v", n, err)
	}
	if got, err := s.LastWorker(ctx, "key-a", cust); err != nil || got != "w-a" {
		t.Errorf("B's erasure changed A's history: %q, %v", got, err)
	}
}
