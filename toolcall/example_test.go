package toolcall_test

import (
	"fmt"

	"github.com/zerfoo/zerfoo/toolcall"
)

func Example() {
	tools, err := toolcall.ParseTools([]byte(`[{"type": "function", "function": {"name": "get_weather",
		"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]`))
	if err != nil {
		panic(err)
	}
	choice, err := toolcall.ParseChoice([]byte(`"auto"`))
	if err != nil {
		panic(err)
	}
	p, err := toolcall.Prepare(tools, toolcall.Options{Choice: choice})
	if err != nil {
		panic(err)
	}
	msgs := p.Render([]toolcall.Message{{Role: "user", Content: "Weather in Paris?"}})
	fmt.Println(len(msgs), msgs[0].Role, msgs[1].Role)

	// The model writes under p.Grammar (generate.Options.Grammar).
	m := p.Grammar.Matcher()
	answer := `{"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}}`
	fmt.Println(m.Accept([]byte(answer)), m.Done())
	reply, err := p.Parse(answer)
	fmt.Printf("%+v %v\n", reply.Calls, err)
	// Output:
	// 2 system user
	// true true
	// [{ID: Name:get_weather Arguments:{"city":"Paris"}}] <nil>
}

func ExamplePlan_Render() {
	p, _ := toolcall.Prepare(nil, toolcall.Options{})
	for _, m := range p.Render([]toolcall.Message{
		{Role: "user", Content: "Add 2 and 3."},
		{Role: "assistant", ToolCalls: []toolcall.Call{{Name: "add", Arguments: `{"a":2,"b":3}`}}},
		{Role: "tool", Name: "add", Content: "5"},
	}) {
		fmt.Printf("%s:\n%s\n", m.Role, m.Content)
	}
	// Output:
	// user:
	// Add 2 and 3.
	// assistant:
	// {
	//   "tool_calls": [
	//     {
	//       "name": "add",
	//       "arguments": {
	//         "a": 2,
	//         "b": 3
	//       }
	//     }
	//   ]
	// }
	// user:
	// {
	//   "tool_response": {
	//     "tool": "add",
	//     "content": "5"
	//   }
	// }
}
