package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"portal/app/apptest"
	"portal/app/auth"
	"portal/app/clock"
)

func newCodes(t *testing.T) (*auth.Codes, *clock.Fake) {
	d := apptest.NewDB(t)
	clk := clock.NewFake(apptest.Start)
	return auth.NewCodes(d.Gorm, clk, []byte("test key of thirty-two bytes!!!!")), clk
}

func TestCodeIsValidForTenMinutes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  error
	}{
		{"accepted at 9 min 59 s", 9*time.Minute + 59*time.Second, nil},
		{"refused at 10 min 01 s", 10*time.Minute + time.Second, auth.ErrCodeExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			codes, clk := newCodes(t)
			code, err := codes.Issue(ctx, "signup", "parent@example.net")
			if err != nil || len(code) != 6 {
				t.Fatalf("Issue = %q, %v", code, err)
			}
			clk.Advance(tc.after)
			if err := codes.Check(ctx, "signup", "Parent@Example.net", code); !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCodeCannotBeReplayed(t *testing.T) {
	ctx := context.Background()
	codes, _ := newCodes(t)
	code, _ := codes.Issue(ctx, "signup", "parent@example.net")
	if err := codes.Check(ctx, "signup", "parent@example.net", code); err != nil {
		t.Fatal(err)
	}
	if err := codes.Check(ctx, "signup", "parent@example.net", code); !errors.Is(err, auth.ErrCodeExpired) {
		t.Fatalf("replay = %v", err)
	}
}

func TestFiveWrongCodesExhaustItAndANewCodeKeepsTheCount(t *testing.T) {
	ctx := context.Background()
	codes, _ := newCodes(t)
	code, _ := codes.Issue(ctx, "signup", "parent@example.net")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 1; i <= 4; i++ {
		if err := codes.Check(ctx, "signup", "parent@example.net", wrong); !errors.Is(err, auth.ErrCodeWrong) {
			t.Fatalf("try %d = %v", i, err)
		}
	}
	fresh, _ := codes.Issue(ctx, "signup", "parent@example.net") // "Send new code"
	// The old code no longer works: that is the fifth failure, counted on
	// top of the four carried over from the first code.
	if err := codes.Check(ctx, "signup", "parent@example.net", code); !errors.Is(err, auth.ErrCodeExhausted) {
		t.Fatalf("the old code after a new one = %v, want exhausted", err)
	}
	if err := codes.Check(ctx, "signup", "parent@example.net", fresh); !errors.Is(err, auth.ErrCodeExhausted) {
		t.Fatalf("the new code after five failures = %v, want exhausted", err)
	}
}

func TestCodesAreBoundToTheirPurpose(t *testing.T) {
	ctx := context.Background()
	codes, _ := newCodes(t)
	code, _ := codes.Issue(ctx, "signup", "parent@example.net")
	if err := codes.Check(ctx, "reset", "parent@example.net", code); err == nil {
		t.Fatal("a sign-up code reset a password")
	}
}

func TestAnExpiredCodesWrongTriesDoNotLockTheNextOut(t *testing.T) {
	ctx := context.Background()
	codes, clk := newCodes(t)
	codes.Issue(ctx, "reset", "parent@example.net")
	for i := 0; i < auth.CodeMaxFailures; i++ {
		codes.Check(ctx, "reset", "parent@example.net", "000000") // a stranger guessing
	}
	clk.Advance(auth.CodeLifetime)
	code, _ := codes.Issue(ctx, "reset", "parent@example.net")
	if err := codes.Check(ctx, "reset", "parent@example.net", code); err != nil {
		t.Fatalf("a fresh code after the exhausted one expired = %v", err)
	}
}
