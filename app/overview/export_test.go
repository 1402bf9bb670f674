package overview

// Query is one of the overview's queries, with the arguments for a period
// and the indexes its plan must read.
type Query struct {
	Name    string
	SQL     string
	Args    []any
	Indexes []string
}

// Queries are every query the overview runs, for period p.
func Queries(p Period) []Query {
	return []Query{
		{"sign-ins", signInsSQL, []any{p.From, p.To}, []string{"audit_events_signed_in_idx"}},
		{"invitations", invitationsSQL, []any{p.From, p.To}, []string{"invitations_sent_idx"}},
		{"waiting", waitingSQL, nil, []string{"threads_waiting_idx"}},
		{"forms", formsSQL, []any{p.From, p.To, p.From, p.To}, []string{"forms_sent_idx", "forms_submitted_idx"}},
		{"deliveries", deliveriesSQL, []any{p.From, p.To}, []string{"notify_deliveries_at_idx"}},
		{"failures", failuresSQL, []any{p.From, p.To}, []string{"notify_deliveries_failed_idx"}},
	}
}
