package io.krill.wagi;

import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import io.krill.runtime.RequestServers;
import java.util.Map;

/**
 * A WAGI container's limits: the daemon's defaults, each overridable by the container's {@code
 * /krill.toml} or an annotation ({@code krill.io/wagi-timeout: 30s}, {@code
 * krill.io/wagi-concurrency: 16}, {@code krill.io/wagi-max-body: 10Mi}, {@code
 * krill.io/wagi-read-timeout: 10s}).
 *
 * @param timeoutMillis how long one request's instance may run before it is stopped (504)
 * @param concurrency how many instances run at once; up to as many more requests wait, then 503
 * @param maxBodyBytes the largest request body (413)
 * @param maxHeaderBytes the largest request header section (431)
 * @param maxResponseBytes the most a guest may write on stdout for one response (500)
 * @param requestReadMillis how long a client has to send a whole request, and how long an idle
 *     connection stays open (408 / close)
 */
public record WagiSettings(
    long timeoutMillis,
    int concurrency,
    long maxBodyBytes,
    int maxHeaderBytes,
    long maxResponseBytes,
    long requestReadMillis) {

  public static final String TIMEOUT = RequestServers.TIMEOUT_ANNOTATION;
  public static final String CONCURRENCY = RequestServers.CONCURRENCY_ANNOTATION;
  public static final String MAX_BODY = RequestServers.MAX_BODY_ANNOTATION;
  public static final String READ_TIMEOUT = RequestServers.READ_TIMEOUT_ANNOTATION;

  public static WagiSettings defaults() {
    return new WagiSettings(30_000, 16, 10L << 20, 16 << 10, 64L << 20, 10_000);
  }

  /** These settings with the container's annotations over them; a bad value names the container. */
  public WagiSettings forContainer(String id, Map<String, String> annotations) {
    long timeout = timeoutMillis;
    int conc = concurrency;
    long body = maxBodyBytes;
    long read = requestReadMillis;
    String v = annotations.get(TIMEOUT);
    if (v != null) {
      timeout = duration(id, TIMEOUT, v);
    }
    v = annotations.get(CONCURRENCY);
    if (v != null) {
      try {
        conc = Integer.parseInt(v.trim());
      } catch (NumberFormatException e) {
        conc = 0;
      }
      if (conc < 1 || conc > RequestServers.MAX_CONCURRENCY) {
        throw bad(id, CONCURRENCY, v, "a number from 1 to " + RequestServers.MAX_CONCURRENCY);
      }
    }
    v = annotations.get(MAX_BODY);
    if (v != null) {
      body = size(id, MAX_BODY, v);
    }
    v = annotations.get(READ_TIMEOUT);
    if (v != null) {
      read = duration(id, READ_TIMEOUT, v);
    }
    return new WagiSettings(timeout, conc, body, maxHeaderBytes, maxResponseBytes, read);
  }

  static long duration(String id, String key, String v) {
    long n = RequestServers.durationMillis(v);
    if (n < 0) {
      throw bad(id, key, v, RequestServers.DURATION_FORM);
    }
    return n;
  }

  static long size(String id, String key, String v) {
    long n = RequestServers.sizeBytes(v);
    if (n < 0) {
      throw bad(id, key, v, RequestServers.SIZE_FORM);
    }
    return n;
  }

  private static KrillException bad(String id, String key, String v, String what) {
    return new KrillException(
        ErrorCode.INVALID_ARGUMENT,
        "container " + id + ": annotation " + key + " has \"" + v + "\": write it as " + what);
  }
}
