/** What /readyz reports: each dependency is ok, or says why not. */
export class Readiness {
  database: string | true = "not checked yet";
  engine: string | true = "not checked yet";
  model: string | true = "not loaded yet";

  get ready(): boolean {
    return this.database === true && this.engine === true && this.model === true;
  }

  report(): Record<string, string> {
    const s = (v: string | true) => (v === true ? "ok" : v);
    return { database: s(this.database), engine: s(this.engine), model: s(this.model) };
  }
}
