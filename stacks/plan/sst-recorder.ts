/**
 * A recording stand-in for the globals SST gives `sst.config.ts` (`$config`, `$app`, `$interpolate`,
 * `sst.Secret`, `sst.Linkable`, `sst.aws.*`), so the real config and stack modules can be evaluated
 * offline and what they would deploy inspected. Secret values are `{{secret:<Name>}}` placeholders;
 * outputs (`arn`, `url`) are strings naming their resource.
 */
export interface Recorded {
  /** `sst.aws.Function`, `sst.aws.Service`, `sst.Secret`, … */
  readonly type: string;
  readonly name: string;
  readonly args: Readonly<Record<string, unknown>>;
}

export interface SstConfigModule {
  default: {
    app(input: { stage: string }): unknown;
    run(): Promise<Record<string, unknown>>;
  };
}

const GLOBALS = ["sst", "$app", "$interpolate", "$config"] as const;

export function installSstRecorder(app: { name: string; stage: string }) {
  const records: Recorded[] = [];
  const record = (type: string, name: string, args: unknown) => {
    records.push({ type, name, args: (args ?? {}) as Record<string, unknown> });
  };

  class Secret {
    readonly value: string;
    constructor(readonly name: string) {
      this.value = `{{secret:${name}}}`;
      record("sst.Secret", name, {});
    }
  }
  class Linkable {
    constructor(
      readonly name: string,
      definition: unknown,
    ) {
      record("sst.Linkable", name, definition);
    }
  }
  class Vpc {
    constructor(
      readonly name: string,
      args?: unknown,
    ) {
      record("sst.aws.Vpc", name, args);
    }
  }
  class Cluster {
    constructor(
      readonly name: string,
      args: unknown,
    ) {
      record("sst.aws.Cluster", name, args);
    }
  }
  class LambdaFunction {
    readonly arn: string;
    readonly url: string;
    constructor(
      readonly name: string,
      args: unknown,
    ) {
      this.arn = `arn:aws:lambda:test:000000000000:function:${name}`;
      this.url = `https://${name}.lambda-url.test`;
      record("sst.aws.Function", name, args);
    }
  }
  class Service {
    readonly url: string;
    constructor(
      readonly name: string,
      args: unknown,
    ) {
      this.url = `http://${name}.elb.test`;
      record("sst.aws.Service", name, args);
    }
  }

  const g = globalThis as Record<string, unknown>;
  const previous = GLOBALS.map((k) => [k, g[k]] as const);
  g.sst = { Secret, Linkable, aws: { Vpc, Cluster, Function: LambdaFunction, Service } };
  g.$app = { name: app.name, stage: app.stage, removal: "remove", protect: false };
  g.$interpolate = (strings: TemplateStringsArray, ...values: unknown[]) =>
    strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ""), "");
  g.$config = (config: unknown) => config;

  return {
    records,
    /** The records of one type. */
    of: (type: string) => records.filter((r) => r.type === type),
    uninstall() {
      for (const [k, v] of previous) {
        if (v === undefined) delete g[k];
        else g[k] = v;
      }
    },
  };
}
