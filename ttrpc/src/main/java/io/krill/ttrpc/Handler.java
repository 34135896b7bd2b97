package io.krill.ttrpc;

import java.util.concurrent.CompletionStage;

/**
 * Serves one method. Runs on the server's handler executor, never on a connection reader, so it may
 * block; returning an incomplete stage frees the executor thread for long waits. Throw or complete
 * with {@link TtrpcException} to send a specific status; anything else is reported as UNKNOWN. A
 * null result is sent as an empty payload.
 */
@FunctionalInterface
public interface Handler {
  CompletionStage<byte[]> handle(RequestContext ctx, byte[] payload) throws Exception;
}
