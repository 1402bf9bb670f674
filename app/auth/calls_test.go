package auth_test

import (
	"context"
	"errors"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/auth"
	"portal/app/clock"
)

// TestACallCountsOnlyForWhatStartedIt holds Calls to its rules one by one:
// an answered call is used once, by the person, purpose and number that
// started it, before it expires; another call's answer and other keys
// count for nothing.
func TestACallCountsOnlyForWhatStartedIt(t *testing.T) {
	ctx := context.Background()
	d := apptest.NewDB(t)
	people := accounts.NewStore(d.Gorm)
	var ids []int64
	for _, email := range []string{"one@example.net", "two@example.net"} {
		p := &accounts.Person{Email: email, Role: accounts.RoleCitizen, Status: "active"}
		if err := people.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	me, other := ids[0], ids[1]
	const number, purpose = "+442079460001", "phone"
	setup := func(t *testing.T) (*auth.Calls, *clock.Fake, auth.Call) {
		clk := clock.NewFake(apptest.Start)
		calls := auth.NewCalls(d.Gorm, clk, []byte("test key of thirty-two bytes!!!!"))
		call, err := calls.Start(ctx, me, purpose, number)
		if err != nil || len(call.Token) < 22 { // 128 bits or more, base64
			t.Fatalf("Start = %+v, %v", call, err)
		}
		return calls, clk, call
	}
	for _, tc := range []struct {
		name string
		act  func(*auth.Calls, *clock.Fake, auth.Call) error
		want error
	}{
		{"# on this call, used by what started it", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			c.Answered(ctx, call.Token, "#")
			return c.Use(ctx, call.ID, me, purpose, number)
		}, nil},
		{"not answered yet", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			return c.Use(ctx, call.ID, me, purpose, number)
		}, auth.ErrCallNotAnswered},
		{"another key than #", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			c.Answered(ctx, call.Token, "1")
			return c.Use(ctx, call.ID, me, purpose, number)
		}, auth.ErrCallNotAnswered},
		{"another call's token", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			c.Answered(ctx, call.Token+"x", "#")
			return c.Use(ctx, call.ID, me, purpose, number)
		}, auth.ErrCallNotAnswered},
		{"used twice", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			c.Answered(ctx, call.Token, "#")
			c.Use(ctx, call.ID, me, purpose, number)
			return c.Use(ctx, call.ID, me, purpose, number)
		}, auth.ErrCallOver},
		{"used by another person", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			c.Answered(ctx, call.Token, "#")
			return c.Use(ctx, call.ID, other, purpose, number)
		}, auth.ErrCallOver},
		{"used for another purpose", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			c.Answered(ctx, call.Token, "#")
			return c.Use(ctx, call.ID, me, "phone.confirm", number)
		}, auth.ErrCallOver},
		{"used for another number", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			c.Answered(ctx, call.Token, "#")
			return c.Use(ctx, call.ID, me, purpose, "+447911123456")
		}, auth.ErrCallOver},
		{"answered after ten minutes", func(c *auth.Calls, clk *clock.Fake, call auth.Call) error {
			clk.Advance(auth.CallLifetime)
			c.Answered(ctx, call.Token, "#")
			clk.Set(apptest.Start) // even if the use came in time
			return c.Use(ctx, call.ID, me, purpose, number)
		}, auth.ErrCallNotAnswered},
		{"used after ten minutes", func(c *auth.Calls, clk *clock.Fake, call auth.Call) error {
			c.Answered(ctx, call.Token, "#")
			clk.Advance(auth.CallLifetime)
			return c.Use(ctx, call.ID, me, purpose, number)
		}, auth.ErrCallOver},
		{"an earlier call once a newer one started", func(c *auth.Calls, _ *clock.Fake, call auth.Call) error {
			if _, err := c.Start(ctx, me, purpose, number); err != nil {
				return err
			}
			c.Answered(ctx, call.Token, "#")
			return c.Use(ctx, call.ID, me, purpose, number)
		}, auth.ErrCallOver},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, clk, call := setup(t)
			if err := tc.act(calls, clk, call); !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
