package doorstep

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// FollowUpWindow is how soon after a booking is completed its follow-up is
// due: the operating manuals ask for a follow-up within 24 hours of each
// service.
const FollowUpWindow = 24 * time.Hour

// Follow-up status values.
const (
	FollowUpOpen   = "open"   // due, no feedback yet
	FollowUpClosed = "closed" // the customer's feedback is recorded
)

// FollowUp is the follow-up a completed booking opens: due FollowUpWindow
// after the completion, closed by the customer's feedback. It holds no
// personal data: ids, times, a rating and tags from a fixed list.
type FollowUp struct {
	BookingID   string    `json:"booking_id"`
	WorkerID    string    `json:"worker_id"`
	Service     string    `json:"service"`
	Owner       string    `json:"owner,omitempty"`
	CompletedAt time.Time `json:"completed_at"`
	Due         time.Time `json:"due"`
	Status      string    `json:"status"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	Feedback    *Feedback `json:"feedback,omitempty"`
}

// Feedback is a customer's word on a completed booking: a rating from 1 to
// 5 and tags from FeedbackTags. There is no free text: it could hold
// personal data.
type Feedback struct {
	Rating int      `json:"rating"`
	Tags   []string `json:"tags"`
}

// FeedbackTags are the tags a feedback may carry, in the order answers
// list them.
var FeedbackTags = []string{
	"punctual", "late", "friendly", "unfriendly", "professional", "unprofessional",
	"tidy", "messy", "quality_work", "poor_work", "good_value", "poor_value",
}

// Validate checks f: a rating in [1, 5] and known tags, each once. It
// sorts the tags into FeedbackTags' order, so two feedbacks that say the
// same compare equal.
func (f *Feedback) Validate() error {
	if f.Rating < 1 || f.Rating > 5 {
		return Errorf(EINVALID, "rating", "rating must be a whole number from 1 to 5")
	}
	for i, tag := range f.Tags {
		if !slices.Contains(FeedbackTags, tag) {
			return Errorf(EINVALID, "tags["+strconv.Itoa(i)+"]", "unknown tag %q (known: %v)", tag, FeedbackTags)
		}
		if slices.Contains(f.Tags[:i], tag) {
			return Errorf(EINVALID, "tags["+strconv.Itoa(i)+"]", "tag %q is listed twice", tag)
		}
	}
	if f.Tags == nil {
		f.Tags = []string{}
	}
	slices.SortFunc(f.Tags, func(a, b string) int { return slices.Index(FeedbackTags, a) - slices.Index(FeedbackTags, b) })
	return nil
}

// The prior of a worker's smoothed rating: a worker without feedback is
// rated RatingPriorMean, and RatingPriorWeight ratings weigh as much as
// the prior.
const (
	RatingPriorMean   = 4.5
	RatingPriorWeight = 5
)

// SmoothedRating is a worker's rating after n feedbacks whose ratings sum
// to sum: the Bayesian average (RatingPriorMean × RatingPriorWeight + sum)
// / (RatingPriorWeight + n), rounded to two decimals. Few ratings stay
// close to the prior; many approach their own mean.
func SmoothedRating(n, sum int64) float64 {
	r := (RatingPriorMean*RatingPriorWeight + float64(sum)) / (RatingPriorWeight + float64(n))
	return math.Round(r*100) / 100
}
