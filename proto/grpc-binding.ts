// Binds protobuf-es v2 service descriptors to @grpc/grpc-js. No maintained package does this for
// protobuf-es v2, and the binding is short: a grpc-js ServiceDefinition whose serializers are
// protobuf-es toBinary/fromBinary.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";

/** Builds the grpc-js service definition for a generated protobuf-es service. */
export function grpcServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<MessageShape<DescMessage>, MessageShape<DescMessage>>> = {};
  for (const method of service.methods) {
    const input = method.input;
    const output = method.output;
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (value: MessageShape<DescMessage>) => asBuffer(toBinary(input, value)),
      requestDeserialize: (bytes: Buffer) => fromBinary(input, bytes) as MessageShape<DescMessage>,
      responseSerialize: (value: MessageShape<DescMessage>) => asBuffer(toBinary(output, value)),
      responseDeserialize: (bytes: Buffer) => fromBinary(output, bytes) as MessageShape<DescMessage>,
    };
  }
  return definition;
}

// grpc-js calls .copy() on what a serializer returns, so it must be a Buffer; this one shares memory.
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Unary handlers keyed by the method's localName, typed from the generated descriptor. */
export type UnaryHandlers<S extends GenServiceMethods> = {
  [K in keyof S]: S[K] extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? (request: MessageShape<I>) => Promise<MessageShape<O>>
    : never;
};

/** Typed promise-returning client for the unary methods of a generated service. */
export type UnaryClient<S extends GenServiceMethods> = {
  [K in keyof S]: S[K] extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? (request: MessageInitShape<I>, options?: { deadlineMs?: number }) => Promise<MessageShape<O>>
    : never;
} & { close(): void };

/**
 * An error whose gRPC status code is carried to the client; handlers throw these for bad input
 * (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION). Other errors become INTERNAL.
 */
export class StatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StatusError";
  }
}

/** Adds a service with promise-returning unary handlers to a grpc-js server. */
export function addUnaryService<S extends GenServiceMethods>(
  server: grpc.Server,
  service: GenService<S>,
  handlers: UnaryHandlers<S>,
  onError?: (method: string, err: unknown) => void,
): void {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const handler = (handlers as Record<string, (req: unknown) => Promise<unknown>>)[method.localName];
    if (!handler) throw new Error(`no handler for ${service.typeName}.${method.name}`);
    implementation[method.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      handler(call.request).then(
        (response) => callback(null, response),
        (err: unknown) => {
          onError?.(method.name, err);
          if (err instanceof StatusError) callback({ code: err.code, details: err.message });
          else callback({ code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) });
        },
      );
    };
  }
  server.addService(grpcServiceDefinition(service), implementation);
}

/** Creates a typed client for a generated service on an existing grpc-js channel target. */
export function createUnaryClient<S extends GenServiceMethods>(
  service: GenService<S>,
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ClientOptions = {},
): UnaryClient<S> {
  const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.typeName);
  const client = new Ctor(target, credentials, options);
  const result: Record<string, unknown> = { close: () => client.close() };
  for (const method of service.methods) {
    const fn = (client as unknown as Record<string, Function>)[method.localName]!.bind(client);
    result[method.localName] = (init: MessageInitShape<DescMessage>, opts?: { deadlineMs?: number }) =>
      new Promise((resolve, reject) => {
        // Callers may pass plain objects; the serializer needs real messages.
        const request = isMessage(init, method.input) ? init : create(method.input, init);
        const callOptions: grpc.CallOptions = opts?.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {};
        fn(request, new grpc.Metadata(), callOptions, (err: grpc.ServiceError | null, response: unknown) =>
          err ? reject(err) : resolve(response),
        );
      });
  }
  return result as UnaryClient<S>;
}
