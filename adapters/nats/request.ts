import {
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
  createInbox,
  errors as natsErrors,
} from "@nats-io/transport-node";

interface Pending {
  subject: string;
  resolve: (msg: Msg) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Core-NATS request/reply over one wildcard inbox subscription, as nats.js's own muxed `request`
 * does, answering the same way: the reply, a `TimeoutError` after `timeout` ms, a `RequestError`
 * whose cause is the `NoRespondersError` (or the publish permission violation), a
 * `RequestError("connection closed")` for what is pending when the connection closes, and nats.js's
 * own errors for a closed or draining connection or an invalid subject. What it leaves out is what a
 * settled nats.js request pays for nothing: the `RequestError` it builds (stack trace and all) to
 * reject a promise that already resolved, a second promise for the timer, a random token per call.
 * One instance per connection (the bus's); the subscription is made on the first request.
 */
export class MuxedRequests {
  private readonly pending = new Map<string, Pending>();
  private inbox: Subscription | undefined;
  private prefix = "";
  private next = 0;

  constructor(private readonly nc: NatsConnection) {
    void nc.closed().then(() => this.failAll(new natsErrors.RequestError("connection closed")));
  }

  request(subject: string, payload: string | Uint8Array, timeout: number, headers?: MsgHdrs): Promise<Msg> {
    if (this.nc.isClosed()) return Promise.reject(new natsErrors.ClosedConnectionError());
    if (this.nc.isDraining()) return Promise.reject(new natsErrors.DrainingConnectionError());
    const prefix = this.subscribed();
    const token = (this.next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new natsErrors.TimeoutError());
      }, timeout);
      this.pending.set(token, { subject, resolve, reject, timer });
      try {
        this.nc.publish(
          subject,
          payload,
          headers === undefined ? { reply: prefix + token } : { reply: prefix + token, headers },
        );
      } catch (err) {
        this.settle(token)?.reject(err as Error);
      }
    });
  }

  /**
   * A publish refused for permissions (the connection's error status) fails the oldest request to
   * that subject, as nats.js's own muxed requests are failed.
   */
  refused(err: unknown): void {
    if (!(err instanceof natsErrors.PermissionViolationError) || err.operation !== "publish") return;
    for (const [token, p] of this.pending) {
      if (p.subject !== err.subject) continue;
      this.settle(token)?.reject(new natsErrors.RequestError(err.message, { cause: err }));
      return;
    }
  }

  private subscribed(): string {
    if (this.inbox !== undefined && !this.inbox.isClosed()) return this.prefix;
    this.prefix = `${createInbox()}.`;
    this.inbox = this.nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.answer(err, msg) });
    return this.prefix;
  }

  private answer(err: Error | null, msg: Msg): void {
    if (err !== null) {
      this.failAll(new natsErrors.RequestError(err.message, { cause: err }));
      return;
    }
    const p = this.settle(msg.subject.slice(this.prefix.length));
    if (p === undefined) return;
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      const cause = new natsErrors.NoRespondersError(p.subject);
      p.reject(new natsErrors.RequestError(cause.message, { cause }));
    } else p.resolve(msg);
  }

  private settle(token: string): Pending | undefined {
    const p = this.pending.get(token);
    if (p === undefined) return undefined;
    this.pending.delete(token);
    clearTimeout(p.timer);
    return p;
  }

  private failAll(err: Error): void {
    for (const token of [...this.pending.keys()]) this.settle(token)?.reject(err);
  }
}
