/** OCPP-J RPC errors: a CALLERROR code and description. Codes are spelled as the OCPP-J spec spells them. */

/** OCPP-J 1.6 section 4.2.3 (note the spec's spelling "Occurence"). */
export type RpcErrorCode16 =
  | "NotImplemented"
  | "NotSupported"
  | "InternalError"
  | "ProtocolError"
  | "SecurityError"
  | "FormationViolation"
  | "PropertyConstraintViolation"
  | "OccurenceConstraintViolation"
  | "TypeConstraintViolation"
  | "GenericError";

export class RpcError extends Error {
  constructor(
    readonly code: RpcErrorCode16 | string,
    readonly description: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(`${code}: ${description}`);
    this.name = "RpcError";
  }
}
