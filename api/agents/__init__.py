"""The MCP server: an account's integrations as tools and resources for AI agents (DESIGN §9).

- `discovery`: the OAuth metadata (RFC 9728, RFC 8414) that leads an MCP client to a token;
- `schemas`: tool names and JSON Schemas made from connector methods;
- `tools`: an account's tools, and calling them (reads: data on demand; writes: tool calls);
- `resources`: its installed integrations (cycles) and their recent runs;
- `server`: the MCP server over streamable HTTP at /mcp, for account tokens only.
"""
