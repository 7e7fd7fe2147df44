// The lab's one error class: names the field or step that failed and why, keeps the cause.
export class LabError extends Error {
  constructor(
    readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${reason}`, options);
    this.name = "LabError";
  }
}
