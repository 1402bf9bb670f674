package documents_test

import (
	"testing"

	"portal/app/apptest"
)

func TestMain(m *testing.M) { apptest.Main(m) }
