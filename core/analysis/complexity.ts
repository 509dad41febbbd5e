import { createRequire } from "node:module";
import type * as TS from "typescript";

/**
 * Complexity per function from the TypeScript parser's syntax tree (`ts.createSourceFile`, no type
 * checker).
 *
 * Cyclomatic (as ESLint's `complexity` rule): 1 + one per `if`, `?:`, `for`, `for…in`, `for…of`,
 * `while`, `do`, `catch`, `case` with a test, `&&`, `||`, `??`, `&&=`, `||=`, `??=` and default
 * value (parameter or destructuring). Counted in the function's own body; nested functions have
 * their own.
 *
 * Cognitive (SonarJS S3776, after G. Ann Campbell's "Cognitive Complexity"):
 *   - +1 plus the nesting level for `if` (not `else if`), `?:`, `switch`, each loop, `catch`;
 *   - +1 for `else if` and `else` (no nesting penalty);
 *   - +1 for each sequence of like logical operators (`a && b && c` +1, `a && b || c` +2);
 *   - +1 for `break`/`continue` to a label;
 *   - nesting grows inside those structures and inside nested functions, whose increments count
 *     towards the enclosing function.
 * As in SonarJS, the value is reported on a top-level function when it has structural complexity of
 * its own; when it has none (a function that only declares callbacks), each nested function is
 * reported on its own instead. Every function is listed; `reported` marks the ones the threshold
 * applies to.
 */

export interface FunctionComplexity {
  readonly file: string;
  /** `name`, `Class.method`, `outer/inner`, `it("does x")`, `list.map callback`, `<anonymous>`; `#n` numbers repeats. */
  readonly name: string;
  readonly line: number;
  readonly endLine: number;
  readonly lines: number;
  readonly cyclomatic: number;
  readonly cognitive: number;
  /** Whether the cognitive threshold applies to this function (see above). */
  readonly reported: boolean;
}

export interface FileComplexity {
  readonly file: string;
  readonly lines: number;
  readonly functions: readonly FunctionComplexity[];
}

/**
 * typescript.js is loaded on the first analysis, not with this module: the duplication path (which
 * has its own tokenizer, lexer.ts) never pays its ~0.3 s load.
 */
let ts: typeof TS;
let K: typeof TS.SyntaxKind;
let handlers: Partial<Record<TS.SyntaxKind, Handler>>;

function loadTypeScript(): void {
  if (ts !== undefined) return;
  ts = createRequire(import.meta.url)("typescript") as typeof TS;
  K = ts.SyntaxKind;
  handlers = handlersByKind();
}

type FunctionNode =
  | TS.FunctionDeclaration
  | TS.FunctionExpression
  | TS.ArrowFunction
  | TS.MethodDeclaration
  | TS.ConstructorDeclaration
  | TS.GetAccessorDeclaration
  | TS.SetAccessorDeclaration;

function isFunction(n: TS.Node): n is FunctionNode {
  switch (n.kind) {
    case K.FunctionDeclaration:
    case K.FunctionExpression:
    case K.ArrowFunction:
    case K.MethodDeclaration:
    case K.Constructor:
    case K.GetAccessor:
    case K.SetAccessor:
      return (n as FunctionNode).body !== undefined;
    default:
      return false;
  }
}

const isLogical = (k: TS.SyntaxKind) =>
  k === K.AmpersandAmpersandToken || k === K.BarBarToken || k === K.QuestionQuestionToken;
const isLogicalAssign = (k: TS.SyntaxKind) =>
  k === K.AmpersandAmpersandEqualsToken || k === K.BarBarEqualsToken || k === K.QuestionQuestionEqualsToken;

function nameOf(n: FunctionNode, sf: TS.SourceFile): string {
  const text = (x: TS.Node | undefined) =>
    x !== undefined && (ts.isIdentifier(x) || ts.isStringLiteral(x) || ts.isPrivateIdentifier(x))
      ? x.text
      : undefined;
  let own: string | undefined;
  if (n.kind === K.Constructor) own = "constructor";
  else own = text(n.name);
  if (own === undefined) {
    const p = n.parent;
    if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))
      own = text(p.name);
    else if (ts.isBinaryExpression(p) && p.right === n) own = p.left.getText(sf).slice(0, 60);
    else if (ts.isCallExpression(p) || ts.isNewExpression(p)) {
      // A callback: named by its call (`it("refuses x")`, `items.map`), stable when lines move.
      const callee = calleeName(p.expression);
      const first = p.arguments?.[0];
      own =
        first !== undefined && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))
          ? `${callee}(${JSON.stringify(first.text.slice(0, 60))})`
          : `${callee} callback`;
    }
  }
  if (own !== undefined && (ts.isClassLike(n.parent) || ts.isPropertyDeclaration(n.parent))) {
    const cls = ts.isClassLike(n.parent) ? n.parent : n.parent.parent;
    const cname = ts.isClassLike(cls) ? text(cls.name) : undefined;
    if (cname !== undefined) own = `${cname}.${own}`;
  }
  return own ?? "<anonymous>";
}

/** `f`, `obj.method`, `x.y.method` → `method`'s receiver when it is a plain name, else only `method`. */
function calleeName(e: TS.Expression): string {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) {
    const name = ts.isIdentifier(e.name) ? e.name.text : "?";
    return ts.isIdentifier(e.expression) ? `${e.expression.text}.${name}` : name;
  }
  return "call";
}

/** One function met in the walk, with what its metrics are built from. */
interface Frame {
  readonly node: FunctionNode;
  readonly name: string;
  readonly parent: number;
  /** Absolute nesting level of the function's body (the level its own structures count from). */
  readonly base: number;
  cyclomatic: number;
  /** Cognitive: structural increments in the subtree, the sum of their levels, flat increments. */
  structural: number;
  levels: number;
  flat: number;
  /** Increments outside nested functions (SonarJS's "structural complexity of its own"). */
  own: number;
  children: number;
}

const cognitiveOf = (f: Frame) => f.structural + f.levels - f.structural * f.base + f.flat;

/**
 * One walk over the tree computes every function's metrics. A structure at absolute nesting level L
 * adds 1 + (L − base) to each enclosing function (base = the level of that function's body), so a
 * callback's increments count in its own value and, one level deeper, in its parent's.
 */
class Walker {
  readonly frames: Frame[] = [];
  private readonly stack: number[] = [];
  private level = 0;

  constructor(private readonly sf: TS.SourceFile) {}

  private get current(): Frame | undefined {
    const i = this.stack[this.stack.length - 1];
    return i === undefined ? undefined : this.frames[i];
  }

  private structural(): void {
    for (const i of this.stack) {
      const f = this.frames[i] as Frame;
      f.structural++;
      f.levels += this.level;
    }
    this.mark();
  }

  private flat(by = 1): void {
    for (const i of this.stack) (this.frames[i] as Frame).flat += by;
    this.mark();
  }

  private mark(): void {
    const f = this.current;
    if (f !== undefined) f.own++;
  }

  private branch(): void {
    const f = this.current;
    if (f !== undefined) f.cyclomatic++;
  }

  private nested(n: TS.Node | undefined): void {
    if (n === undefined) return;
    this.level++;
    this.visit(n);
    this.level--;
  }

  enter(fn: FunctionNode): void {
    const parent = this.stack[this.stack.length - 1] ?? -1;
    const prefix = parent === -1 ? "" : `${(this.frames[parent] as Frame).name}/`;
    const base = parent === -1 ? this.level : this.level + 1;
    this.frames.push({
      node: fn,
      name: prefix + nameOf(fn, this.sf),
      parent,
      base,
      cyclomatic: 1,
      structural: 0,
      levels: 0,
      flat: 0,
      own: 0,
      children: 0,
    });
    if (parent !== -1) (this.frames[parent] as Frame).children++;
    this.stack.push(this.frames.length - 1);
    const saved = this.level;
    this.level = base;
    ts.forEachChild(fn, (c) => this.visit(c));
    this.level = saved;
    this.stack.pop();
  }

  visit(n: TS.Node): void {
    const handler = isFunction(n) ? enterFunction : handlers[n.kind];
    if (handler !== undefined) handler(this, n);
    else ts.forEachChild(n, (c) => this.visit(c));
  }

  onIf(s: TS.IfStatement, elseIf: boolean): void {
    this.branch();
    if (elseIf) this.flat();
    else this.structural();
    this.visit(s.expression);
    this.nested(s.thenStatement);
    const e = s.elseStatement;
    if (e === undefined) return;
    if (ts.isIfStatement(e)) {
      this.onIf(e, true);
      return;
    }
    this.flat();
    this.nested(e);
  }

  onNesting(n: TS.Node, body: TS.Node | undefined): void {
    this.branch();
    this.structural();
    ts.forEachChild(n, (c) => (c === body ? this.nested(c) : this.visit(c)));
  }

  onConditional(c: TS.ConditionalExpression): void {
    this.branch();
    this.structural();
    this.visit(c.condition);
    this.nested(c.whenTrue);
    this.nested(c.whenFalse);
  }

  onSwitch(s: TS.SwitchStatement): void {
    this.structural();
    this.visit(s.expression);
    this.nested(s.caseBlock);
  }

  onCase(c: TS.CaseClause): void {
    this.branch();
    ts.forEachChild(c, (x) => this.visit(x));
  }

  onCatch(c: TS.CatchClause): void {
    this.branch();
    this.structural();
    this.nested(c.block);
  }

  onJump(j: TS.BreakOrContinueStatement): void {
    if (j.label !== undefined) this.flat();
  }

  onBinary(b: TS.BinaryExpression): void {
    const op = b.operatorToken.kind;
    if (isLogical(op) || isLogicalAssign(op)) this.branch();
    if (isLogical(op) && isChainRoot(b)) this.flat(logicalSequences(b));
    ts.forEachChild(b, (c) => this.visit(c));
  }

  onDefault(d: TS.ParameterDeclaration | TS.BindingElement): void {
    if (d.initializer !== undefined) this.branch();
    ts.forEachChild(d, (c) => this.visit(c));
  }
}

type Handler = (w: Walker, n: TS.Node) => void;
const enterFunction: Handler = (w, n) => w.enter(n as FunctionNode);
const loop: Handler = (w, n) => w.onNesting(n, (n as TS.IterationStatement).statement);
/** The walker's handler for each node kind it counts. */
function handlersByKind(): Partial<Record<TS.SyntaxKind, Handler>> {
  return {
    [K.IfStatement]: (w, n) => w.onIf(n as TS.IfStatement, false),
    [K.ConditionalExpression]: (w, n) => w.onConditional(n as TS.ConditionalExpression),
    [K.SwitchStatement]: (w, n) => w.onSwitch(n as TS.SwitchStatement),
    [K.CaseClause]: (w, n) => w.onCase(n as TS.CaseClause),
    [K.ForStatement]: loop,
    [K.ForInStatement]: loop,
    [K.ForOfStatement]: loop,
    [K.WhileStatement]: loop,
    [K.DoStatement]: loop,
    [K.CatchClause]: (w, n) => w.onCatch(n as TS.CatchClause),
    [K.BreakStatement]: (w, n) => w.onJump(n as TS.BreakOrContinueStatement),
    [K.ContinueStatement]: (w, n) => w.onJump(n as TS.BreakOrContinueStatement),
    [K.BinaryExpression]: (w, n) => w.onBinary(n as TS.BinaryExpression),
    [K.Parameter]: (w, n) => w.onDefault(n as TS.ParameterDeclaration),
    [K.BindingElement]: (w, n) => w.onDefault(n as TS.BindingElement),
  };
}

/** The operators of a chain of logical expressions, left to right, looking through parentheses. */
function logicalOperators(n: TS.Expression, out: TS.SyntaxKind[]): void {
  let e = n;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  if (ts.isBinaryExpression(e) && isLogical(e.operatorToken.kind)) {
    logicalOperators(e.left, out);
    out.push(e.operatorToken.kind);
    logicalOperators(e.right, out);
  }
}

/** Sequences of like operators in a chain: `a && b && c` 1, `a && b || c` 2. */
function logicalSequences(b: TS.BinaryExpression): number {
  const ops: TS.SyntaxKind[] = [];
  logicalOperators(b, ops);
  let seq = 0;
  for (let i = 0; i < ops.length; i++) if (i === 0 || ops[i] !== ops[i - 1]) seq++;
  return seq;
}

function isLogicalBinary(n: TS.Node): n is TS.BinaryExpression {
  return ts.isBinaryExpression(n) && isLogical(n.operatorToken.kind);
}

/** The logical chain's root is a logical expression whose parent (through parentheses) is not one. */
function isChainRoot(n: TS.BinaryExpression): boolean {
  let p = n.parent;
  while (ts.isParenthesizedExpression(p)) p = p.parent;
  return !isLogicalBinary(p);
}

/**
 * SonarJS: a function is reported when no enclosing function is, and it has structural complexity of
 * its own or nothing nested to report instead.
 */
function reportedFlags(frames: readonly Frame[]): boolean[] {
  const reported: boolean[] = [];
  frames.forEach((f, i) => {
    // Parents come before their children in the walk.
    const parentCovers =
      f.parent !== -1 && (reported[f.parent] === true || coveredAbove(frames, reported, f.parent));
    reported[i] = !parentCovers && (f.own > 0 || f.children === 0);
  });
  return reported;
}

function coveredAbove(frames: readonly Frame[], reported: readonly boolean[], i: number): boolean {
  for (let p = (frames[i] as Frame).parent; p !== -1; p = (frames[p] as Frame).parent)
    if (reported[p]) return true;
  return false;
}

/** Every function of one file with its metrics. */
export function analyzeComplexity(file: string, text: string): FileComplexity {
  loadTypeScript();
  const kind = file.endsWith(".tsx") || file.endsWith(".jsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const walker = new Walker(sf);
  walker.visit(sf);
  const reported = reportedFlags(walker.frames);
  const seen = new Map<string, number>();
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const functions = walker.frames.map((f, i): FunctionComplexity => {
    const line = lineOf(f.node.getStart(sf));
    const endLine = lineOf(f.node.getEnd());
    // Same name twice in a file (overloads, two callbacks of one call): numbered.
    const count = (seen.get(f.name) ?? 0) + 1;
    seen.set(f.name, count);
    return {
      file,
      name: count === 1 ? f.name : `${f.name}#${count}`,
      line,
      endLine,
      lines: endLine - line + 1,
      cyclomatic: f.cyclomatic,
      cognitive: cognitiveOf(f),
      reported: reported[i] === true,
    };
  });
  return { file, lines: sf.getLineStarts().length - (text.endsWith("\n") ? 1 : 0), functions };
}
