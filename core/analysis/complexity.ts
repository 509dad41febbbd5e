import ts from "typescript";

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

const K = ts.SyntaxKind;

type FunctionNode =
  | ts.FunctionDeclaration
  | ts.FunctionExpression
  | ts.ArrowFunction
  | ts.MethodDeclaration
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration;

function isFunction(n: ts.Node): n is FunctionNode {
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

const isLogical = (k: ts.SyntaxKind) =>
  k === K.AmpersandAmpersandToken || k === K.BarBarToken || k === K.QuestionQuestionToken;
const isLogicalAssign = (k: ts.SyntaxKind) =>
  k === K.AmpersandAmpersandEqualsToken || k === K.BarBarEqualsToken || k === K.QuestionQuestionEqualsToken;

function nameOf(n: FunctionNode, sf: ts.SourceFile): string {
  const text = (x: ts.Node | undefined) =>
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
function calleeName(e: ts.Expression): string {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) {
    const name = ts.isIdentifier(e.name) ? e.name.text : "?";
    return ts.isIdentifier(e.expression) ? `${e.expression.text}.${name}` : name;
  }
  return "call";
}

/** Cyclomatic complexity of one function's own body (nested functions excluded). */
function cyclomaticOf(fn: FunctionNode): number {
  let c = 1;
  const visit = (n: ts.Node): void => {
    if (n !== fn && isFunction(n)) return;
    switch (n.kind) {
      case K.IfStatement:
      case K.ConditionalExpression:
      case K.ForStatement:
      case K.ForInStatement:
      case K.ForOfStatement:
      case K.WhileStatement:
      case K.DoStatement:
      case K.CatchClause:
        c++;
        break;
      case K.CaseClause:
        c++;
        break;
      case K.BinaryExpression: {
        const op = (n as ts.BinaryExpression).operatorToken.kind;
        if (isLogical(op) || isLogicalAssign(op)) c++;
        break;
      }
      case K.Parameter:
      case K.BindingElement:
        if ((n as ts.ParameterDeclaration | ts.BindingElement).initializer !== undefined) c++;
        break;
    }
    ts.forEachChild(n, visit);
  };
  visit(fn);
  return c;
}

/** The operators of a chain of logical expressions, left to right, looking through parentheses. */
function logicalOperators(n: ts.Expression, out: ts.SyntaxKind[]): void {
  let e = n;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  if (ts.isBinaryExpression(e) && isLogical(e.operatorToken.kind)) {
    logicalOperators(e.left, out);
    out.push(e.operatorToken.kind);
    logicalOperators(e.right, out);
  }
}

function isLogicalBinary(n: ts.Node): n is ts.BinaryExpression {
  return ts.isBinaryExpression(n) && isLogical(n.operatorToken.kind);
}

/** The logical chain's root is a logical expression whose parent (through parentheses) is not one. */
function isChainRoot(n: ts.BinaryExpression): boolean {
  let p = n.parent;
  while (ts.isParenthesizedExpression(p)) p = p.parent;
  return !isLogicalBinary(p);
}

interface Cognitive {
  /** Total, nested functions included. */
  total: number;
  /** Increments outside nested functions. */
  own: number;
}

/** Cognitive complexity of `fn`, nested functions included with one more level of nesting. */
function cognitiveOf(fn: FunctionNode): Cognitive {
  const r: Cognitive = { total: 0, own: 0 };
  let depthInNested = 0;
  const inc = (by: number) => {
    r.total += by;
    if (depthInNested === 0) r.own += by;
  };
  const visit = (n: ts.Node, nesting: number): void => {
    if (n !== fn && isFunction(n)) {
      depthInNested++;
      ts.forEachChild(n, (c) => visit(c, nesting + 1));
      depthInNested--;
      return;
    }
    switch (n.kind) {
      case K.IfStatement: {
        const s = n as ts.IfStatement;
        const elseIf = ts.isIfStatement(s.parent) && s.parent.elseStatement === s;
        inc(elseIf ? 1 : 1 + nesting);
        // An `else if` chain stays at the nesting of its first `if`.
        const level = nesting;
        visit(s.expression, level);
        visit(s.thenStatement, level + 1);
        if (s.elseStatement !== undefined) {
          if (ts.isIfStatement(s.elseStatement)) visit(s.elseStatement, level);
          else {
            inc(1);
            visit(s.elseStatement, level + 1);
          }
        }
        return;
      }
      case K.ConditionalExpression: {
        const c = n as ts.ConditionalExpression;
        inc(1 + nesting);
        visit(c.condition, nesting);
        visit(c.whenTrue, nesting + 1);
        visit(c.whenFalse, nesting + 1);
        return;
      }
      case K.SwitchStatement: {
        const s = n as ts.SwitchStatement;
        inc(1 + nesting);
        visit(s.expression, nesting);
        visit(s.caseBlock, nesting + 1);
        return;
      }
      case K.ForStatement:
      case K.ForInStatement:
      case K.ForOfStatement:
      case K.WhileStatement:
      case K.DoStatement: {
        inc(1 + nesting);
        const loop = n as ts.IterationStatement;
        ts.forEachChild(n, (c) => visit(c, c === loop.statement ? nesting + 1 : nesting));
        return;
      }
      case K.CatchClause: {
        inc(1 + nesting);
        ts.forEachChild(n, (c) => visit(c, nesting + 1));
        return;
      }
      case K.BreakStatement:
      case K.ContinueStatement:
        if ((n as ts.BreakOrContinueStatement).label !== undefined) inc(1);
        break;
      case K.BinaryExpression: {
        const b = n as ts.BinaryExpression;
        if (isLogical(b.operatorToken.kind) && isChainRoot(b)) {
          const ops: ts.SyntaxKind[] = [];
          logicalOperators(b, ops);
          let seq = 0;
          for (let i = 0; i < ops.length; i++) if (i === 0 || ops[i] !== ops[i - 1]) seq++;
          inc(seq);
        }
        break;
      }
    }
    ts.forEachChild(n, (c) => visit(c, nesting));
  };
  visit(fn, 0);
  return r;
}

/** Every function of one file with its metrics. */
export function analyzeComplexity(file: string, text: string): FileComplexity {
  const kind = file.endsWith(".tsx") || file.endsWith(".jsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const functions: FunctionComplexity[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  // Functions in source order with their parent function's index (-1 at the top level).
  const found: { node: FunctionNode; parent: number; name: string }[] = [];
  const walk = (n: ts.Node, parent: number, prefix: string): void => {
    if (isFunction(n)) {
      const name = prefix === "" ? nameOf(n, sf) : `${prefix}/${nameOf(n, sf)}`;
      found.push({ node: n, parent, name });
      const me = found.length - 1;
      ts.forEachChild(n, (c) => walk(c, me, name));
      return;
    }
    ts.forEachChild(n, (c) => walk(c, parent, prefix));
  };
  walk(sf, -1, "");
  const cognitive = found.map((f) => cognitiveOf(f.node));
  // SonarJS: report a function whose enclosing reported chain has no structure of its own.
  const reported = found.map(() => false);
  const decide = (i: number, parentReported: boolean): void => {
    const own = (cognitive[i] as Cognitive).own;
    reported[i] = !parentReported && (own > 0 || !hasChildren(i));
    found.forEach((g, j) => {
      if (g.parent === i) decide(j, parentReported || reported[i] === true);
    });
  };
  const hasChildren = (i: number) => found.some((g) => g.parent === i);
  found.forEach((f, i) => {
    if (f.parent === -1) decide(i, false);
  });
  const seen = new Map<string, number>();
  found.forEach((f, i) => {
    const start = lineOf(f.node.getStart(sf));
    const end = lineOf(f.node.getEnd());
    // Same name twice in a file (overloads, two anonymous callbacks on one line): numbered.
    const count = seen.get(f.name) ?? 0;
    seen.set(f.name, count + 1);
    functions.push({
      file,
      name: count === 0 ? f.name : `${f.name}#${count + 1}`,
      line: start,
      endLine: end,
      lines: end - start + 1,
      cyclomatic: cyclomaticOf(f.node),
      cognitive: (cognitive[i] as Cognitive).total,
      reported: reported[i] === true,
    });
  });
  return { file, lines: sf.getLineStarts().length - (text.endsWith("\n") ? 1 : 0), functions };
}
