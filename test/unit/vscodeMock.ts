// A small stand-in for the `vscode` module, for extension logic that needs no real host: settings,
// Workspace Trust, workspace folders, findFiles over the real file system, tree items, decorations
// and hovers. Installed before the extension modules are loaded; the real host is in test/e2e.
import * as fs from "node:fs";
import * as path from "node:path";
import Module from "node:module";

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  static file(p: string): Uri {
    return new Uri("file", p);
  }
  static parse(s: string): Uri {
    return s.startsWith("file://") ? new Uri("file", decodeURIComponent(s.slice(7))) : new Uri(s.split(":")[0], s);
  }
  static joinPath(u: Uri, ...parts: string[]): Uri {
    return new Uri(u.scheme, path.join(u.fsPath, ...parts));
  }
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
}

export class MarkdownString {
  value = "";
  constructor(v = "") {
    this.value = v;
  }
  appendMarkdown(s: string): this {
    this.value += s;
    return this;
  }
}

export class EventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  readonly event = (l: (e: T) => void) => {
    this.listeners.push(l);
    return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  fire(e: T): void {
    for (const l of this.listeners) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}

/** A text document over a string: offsets and positions as VS Code computes them. */
export class FakeDocument {
  version = 1;
  constructor(
    readonly uri: Uri,
    public text: string,
  ) {}
  offsetAt(p: Position): number {
    const lines = this.text.split("\n");
    let o = 0;
    for (let i = 0; i < p.line && i < lines.length; i++) o += lines[i].length + 1;
    return o + p.character;
  }
  /** The text, or the text of `range`. */
  getText(range?: Range): string {
    return range ? this.text.slice(this.offsetAt(range.start), this.offsetAt(range.end)) : this.text;
  }
  positionAt(offset: number): Position {
    const before = this.text.slice(0, Math.max(0, Math.min(offset, this.text.length))).split("\n");
    return new Position(before.length - 1, before[before.length - 1].length);
  }
}

export class FakeEditor {
  /** Decorations set per decoration type, as the editor received them last. */
  readonly decorations = new Map<unknown, Range[]>();
  constructor(readonly document: FakeDocument) {}
  setDecorations(type: unknown, opts: { range: Range }[]): void {
    this.decorations.set(type, opts.map((o) => o.range));
  }
}

type Listener = (e: unknown) => void;

/** What a test sets up and reads back. */
export const state = {
  settings: new Map<string, unknown>(),
  isTrusted: true,
  workspaceFolders: [] as { uri: Uri }[],
  visibleTextEditors: [] as FakeEditor[],
  hoverProviders: [] as { provideHover(doc: FakeDocument, pos: Position): unknown }[],
  listeners: { changeDocument: [] as Listener[], changeVisibleEditors: [] as Listener[] },
  contexts: new Map<string, unknown>(),
};

/** Files under the workspace folders named `names` (the `**\/{a,b}.json` globs SeqLens uses), skipping node_modules. */
function findFiles(glob: string, _exclude?: string, max = Infinity): Promise<Uri[]> {
  const m = /^\*\*\/(?:\{([^}]+)\}|([^*{}]+))\.json$/.exec(glob);
  if (!m) throw new Error(`the vscode stand-in understands only **/name.json globs, not ${glob}`);
  const names = new Set((m[1] ?? m[2]).split(",").map((n) => `${n}.json`));
  const out: Uri[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (out.length >= max) return;
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== "node_modules") walk(p);
      else if (e.isFile() && names.has(e.name)) out.push(Uri.file(p));
    }
  };
  for (const f of state.workspaceFolders) walk(f.uri.fsPath);
  return Promise.resolve(out);
}

const disposable = { dispose() {} };
const on = (list: Listener[]) => (l: Listener) => {
  list.push(l);
  return { dispose: () => list.splice(list.indexOf(l), 1) };
};

export const vscode = {
  Position,
  Range,
  Uri,
  MarkdownString,
  EventEmitter,
  Hover: class {
    constructor(
      readonly contents: MarkdownString,
      readonly range?: Range,
    ) {}
  },
  ThemeIcon: class {
    constructor(
      readonly id: string,
      readonly color?: unknown,
    ) {}
  },
  ThemeColor: class {
    constructor(readonly id: string) {}
  },
  TreeItem: class {
    id?: string;
    description?: string;
    constructor(
      readonly label: string,
      readonly collapsibleState?: number,
    ) {}
  },
  TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
  ConfigurationTarget: { Global: 1, Workspace: 2 },
  workspace: {
    getConfiguration: (section: string) => ({
      get: <T>(key: string, dflt: T): T => (state.settings.has(`${section}.${key}`) ? (state.settings.get(`${section}.${key}`) as T) : dflt),
    }),
    get isTrusted() {
      return state.isTrusted;
    },
    get workspaceFolders() {
      return state.workspaceFolders;
    },
    findFiles,
    onDidChangeTextDocument: on(state.listeners.changeDocument),
  },
  window: {
    createTextEditorDecorationType: (opts: unknown) => ({ opts, dispose() {} }),
    get visibleTextEditors() {
      return state.visibleTextEditors;
    },
    onDidChangeVisibleTextEditors: on(state.listeners.changeVisibleEditors),
  },
  languages: {
    registerHoverProvider: (_selector: unknown, provider: (typeof state.hoverProviders)[number]) => {
      state.hoverProviders.push(provider);
      return disposable;
    },
  },
  commands: {
    executeCommand: (cmd: string, key?: string, value?: unknown) => {
      if (cmd === "setContext" && key) state.contexts.set(key, value);
      return Promise.resolve();
    },
  },
};

/** Makes `import * as vscode from "vscode"` in the extension's modules load the stand-in. */
export function installVscodeMock(): void {
  const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = M._load;
  M._load = function (request: string, ...rest: unknown[]) {
    if (request === "vscode") return vscode;
    return load.call(this, request, ...rest);
  };
}
