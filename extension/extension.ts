// The VS Code extension host entry. It stays thin: commands, views and panels talk to the engine
// process through engine/client.ts and never run a model here. (The inspector and its commands
// arrive with the extension work; activation must stay free of heavy loads.)
export function activate(): void {}

export function deactivate(): void {}
