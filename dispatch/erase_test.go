package dispatch_test

import (
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
)

// TestEraseCustomer: a tenant erases its own customer of an id and leaves
// another tenant's customer of the same id alone; the operator
// (AllTenants) erases the id everywhere; an id that is none is refused.
func TestEraseCustomer(t *testing.T) {
	const other = "key-tenant-b"
	tests := []struct {
		name  string
		owner string
		id    string
		// wantCode is the error code; wantErased the tenants whose booking
		// lost the customer id.
		wantCode   string
		wantErased map[string]bool
	}{
		{name: "a tenant erases its own customer", owner: tenant, id: "c-1",
			wantErased: map[string]bool{tenant: true}},
		{name: "the operator erases the id in every tenant", owner: dispatch.AllTenants, id: "c-1",
			wantErased: map[string]bool{tenant: true, other: true}},
		{name: "another customer id erases nothing", owner: tenant, id: "c-2",
			wantErased: map[string]bool{}},
		{name: "not a customer id", owner: tenant, id: "c 1\n", wantCode: doorstep.EINVALID},
	}
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pool.newEnv(t, at(8, 0), nil)
			e.put(t, worker("w", base, dayShift()))
			booked := map[string]string{} // tenant -> booking id
			for i, owner := range []string{tenant, other} {
				req := normal(base, mins(30), at(9+2*i, 0), at(10+2*i, 0))
				req.CustomerID = "c-1"
				bk, err := e.svc.Book(t.Context(), req, owner)
				if err != nil {
					t.Fatalf("Book(%s): %v", owner, err)
				}
				booked[owner] = bk.Booking.ID
			}
			er, err := e.svc.EraseCustomer(t.Context(), tt.owner, tt.id)
			if got := doorstep.ErrorCode(err); err != nil && got != tt.wantCode || err == nil && tt.wantCode != "" {
				t.Fatalf("EraseCustomer = %v, want code %q", err, tt.wantCode)
			}
			if er.Bookings != len(tt.wantErased) {
				t.Errorf("EraseCustomer erased %d bookings, want %d", er.Bookings, len(tt.wantErased))
			}
			for owner, id := range booked {
				if got, want := e.get(t, id).CustomerID == "", tt.wantErased[owner]; got != want {
					t.Errorf("%s's booking erased: %v, want %v", owner, got, want)
				}
			}
		})
	}
}
