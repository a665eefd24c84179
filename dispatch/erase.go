package dispatch

import (
	"context"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store"
)

// AllTenants, as the owner of EraseCustomer, erases the customer id in the
// records of every tenant (an operator's erasure).
const AllTenants = store.AllTenants

// EraseCustomer erases what Doorstep holds of customer id. Customer ids are
// each booking system's own, so owner (the API key that asks) erases its own
// customer of that id and leaves other tenants' customers of the same id
// alone; AllTenants (the operator) erases the id in every tenant's records.
// The customer's bookings that have not started are cancelled (each cancel
// is audited by its own change); every booking of the customer loses its
// customer id and exact place, and the remembered history, series and
// recorded answers that name the customer go (see store.EraseCustomer).
func (s *Service) EraseCustomer(ctx context.Context, owner, id string) (store.Erasure, error) {
	if !doorstep.ValidID(id) {
		return store.Erasure{}, doorstep.Errorf(doorstep.EINVALID, "id", "not a customer id")
	}
	return s.st.EraseCustomer(ctx, owner, id, s.cfg.Now())
}
