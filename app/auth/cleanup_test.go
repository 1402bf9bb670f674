package auth_test

import (
	"context"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/auth"
	"portal/app/clock"
)

const testKey = "test key of thirty-two bytes!!!!"

// TestExpiredCodesAreDeletedADayLater: the clean-up job's DeleteExpired
// takes only codes expired more than olderThan ago, and a live code still
// works after it.
func TestExpiredCodesAreDeletedADayLater(t *testing.T) {
	ctx := context.Background()
	d := apptest.NewDB(t)
	clk := clock.NewFake(apptest.Start)
	codes := auth.NewCodes(d.Gorm, clk, []byte(testKey))
	if _, err := codes.Issue(ctx, "signup", "old@example.net"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(12 * time.Hour)
	if _, err := codes.Issue(ctx, "signup", "recent@example.net"); err != nil {
		t.Fatal(err)
	}
	clk.Set(apptest.Start.Add(auth.CodeLifetime + 24*time.Hour + time.Second))
	live, err := codes.Issue(ctx, "signup", "live@example.net")
	if err != nil {
		t.Fatal(err)
	}
	n, err := codes.DeleteExpired(ctx, 24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want only the code expired over a day ago", n, err)
	}
	var left int64
	d.Gorm.Raw(`SELECT count(*) FROM one_time_codes`).Scan(&left)
	if left != 2 {
		t.Fatalf("%d codes left, want 2", left)
	}
	if err := codes.Check(ctx, "signup", "live@example.net", live); err != nil {
		t.Fatalf("a live code after clean-up: %v", err)
	}
	if n, _ := codes.DeleteExpired(ctx, 24*time.Hour); n != 0 {
		t.Fatalf("a second clean-up deleted %d", n)
	}
}

// TestExpiredCallsAreDeletedADayLater: the same for "Call Me" challenges.
func TestExpiredCallsAreDeletedADayLater(t *testing.T) {
	ctx := context.Background()
	d := apptest.NewDB(t)
	p := &accounts.Person{Email: "caller@example.net", Role: accounts.RoleCitizen, Status: "active"}
	if err := accounts.NewStore(d.Gorm).Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(apptest.Start)
	calls := auth.NewCalls(d.Gorm, clk, []byte(testKey))
	const number = "+442079460001"
	if _, err := calls.Start(ctx, p.ID, "phone", number); err != nil {
		t.Fatal(err)
	}
	clk.Advance(12 * time.Hour)
	if _, err := calls.Start(ctx, p.ID, "phone.confirm", number); err != nil {
		t.Fatal(err)
	}
	clk.Set(apptest.Start.Add(auth.CallLifetime + 24*time.Hour + time.Second))
	live, err := calls.Start(ctx, p.ID, "phone", number)
	if err != nil {
		t.Fatal(err)
	}
	n, err := calls.DeleteExpired(ctx, 24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want only the call expired over a day ago", n, err)
	}
	if err := calls.Answered(ctx, live.Token, "#"); err != nil {
		t.Fatal(err)
	}
	if err := calls.Use(ctx, live.ID, p.ID, "phone", number); err != nil {
		t.Fatalf("a live call after clean-up: %v", err)
	}
}
