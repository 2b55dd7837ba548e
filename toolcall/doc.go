// Package toolcall lets a model without tool tokens (Gemma 3) call tools,
// as llama-server does for such models with its "generic" chat format:
// the tools are described in the system prompt, the answer is constrained
// to JSON — {"tool_call": {"name": …, "arguments": {…}}} (or
// {"tool_calls": [ … ]} with parallel calls) or {"response": …} — whose
// arguments follow each tool's parameters schema, and the answer is
// parsed back into tool calls or content.
//
//	tools, err := toolcall.ParseTools(req.Tools)        // OpenAI's tools
//	choice, err := toolcall.ParseChoice(req.ToolChoice) // auto, none, required, a function
//	p, err := toolcall.Prepare(tools, toolcall.Options{Choice: choice})
//	msgs := p.Render(history)      // tool calls and results as text, tools in the system prompt
//	opt.Grammar = p.Grammar        // nil when no tool is offered
//	reply, err := p.Parse(text)    // reply.Calls or reply.Content
//
// The prompt text, the JSON the model writes and the way past calls and
// results are rendered are llama.cpp's (common/chat.cpp's generic format
// and minja's template polyfills), so a model sees what it would see
// under llama-server.
//
// Differences from llama.cpp: tool_choice may name a function (the answer
// must call it); parallel call ids are at most MaxIDLength characters;
// tool_choice none offers no tools (no prompt text, no grammar); Render
// joins consecutive messages of one role, which Gemma's template refuses;
// a tool's parameters may use their own $defs (they are embedded with an
// $id). Peek streams the text of a response while it is generated.
package toolcall
