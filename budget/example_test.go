package budget_test

import (
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/budget"
)

// A loader checks a shape read from a file before allocating it.
func ExampleLimit_CheckElems() {
	limit := budget.Limit(1 << 30) // 1 GiB
	dims := []int{2147483647, 8}   // a hostile ConstantOfShape target
	err := limit.CheckElems("ConstantOfShape node c1 output", 4, dims...)
	fmt.Println(err)
	fmt.Println(errors.Is(err, budget.ErrExceeded))
	// Output:
	// ConstantOfShape node c1 output needs 64 GiB, over the memory budget of 1 GiB (set ZERFOO_MAX_ALLOC to raise it)
	// true
}
