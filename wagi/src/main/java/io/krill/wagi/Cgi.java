package io.krill.wagi;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The CGI 1.1 side of WAGI: a request as the guest's argv and environment (on top of the
 * container's), and the guest's stdout as a response (CGI headers, a blank line, the body).
 */
final class Cgi {
  /** What the server names itself as ({@code SERVER_SOFTWARE}). */
  static final String SERVER_SOFTWARE = "krill-wagi";

  /** The most a guest's header section may take before the blank line. */
  static final int MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

  private Cgi() {}

  /** One request as the server read it; {@code headers} in the client's order, names as sent. */
  record Request(
      String method,
      String uri,
      String protocol,
      List<Map.Entry<String, String>> headers,
      byte[] body,
      String remoteAddr,
      String serverName,
      int serverPort) {}

  /** A response: status, its reason phrase, headers in the guest's order (no Status), body. */
  record Response(
      int status, String reason, List<Map.Entry<String, String>> headers, byte[] body) {}

  /** A guest's stdout that is not a CGI response; the message says what is wrong with it. */
  static final class MalformedResponse extends Exception {
    MalformedResponse(String message) {
      super(message);
    }
  }

  static String rawPath(String uri) {
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }

  static String query(String uri) {
    int q = uri.indexOf('?');
    return q < 0 ? "" : uri.substring(q + 1);
  }

  static String decode(String s) {
    try {
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }

  /** argv: the module's path, then the query's {@code &}-separated parts, URL-decoded (as wagi). */
  static List<String> args(String modulePath, String query) {
    List<String> args = new ArrayList<>();
    args.add(modulePath);
    if (!query.isEmpty()) {
      for (String part : query.split("&")) {
        if (!part.isEmpty()) {
          args.add(URLDecoder.decode(part, StandardCharsets.UTF_8));
        }
      }
    }
    return args;
  }

  /**
   * The guest's environment: the container's, with the CGI variables of this request over it
   * (REQUEST_METHOD, PATH_INFO, QUERY_STRING, ..., and each header as {@code HTTP_NAME}).
   */
  static List<String> env(List<String> containerEnv, Request req, Routes.Match match) {
    Map<String, String> env = new LinkedHashMap<>();
    for (String kv : containerEnv) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        env.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    Map<String, String> headers = new LinkedHashMap<>();
    String contentType = "";
    for (Map.Entry<String, String> h : req.headers()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      if (name.equals("content-type")) {
        contentType = h.getValue();
        continue;
      }
      if (name.equals("content-length") || name.equals("authorization")) {
        continue;
      }
      String key = "HTTP_" + name.toUpperCase(Locale.ROOT).replace('-', '_');
      headers.merge(key, h.getValue(), (a, b) -> a + ", " + b);
    }
    String rawPathInfo = match.pathInfo();
    String pathInfo = decode(rawPathInfo);
    String host = headerValue(req, "host");
    env.putAll(headers);
    env.put("GATEWAY_INTERFACE", "CGI/1.1");
    env.put("SERVER_SOFTWARE", SERVER_SOFTWARE);
    env.put("SERVER_PROTOCOL", req.protocol());
    env.put("SERVER_NAME", req.serverName());
    env.put("SERVER_PORT", String.valueOf(req.serverPort()));
    env.put("REQUEST_METHOD", req.method());
    env.put("SCRIPT_NAME", match.scriptName());
    env.put("PATH_INFO", pathInfo);
    env.put("PATH_TRANSLATED", pathInfo);
    env.put("X_RAW_PATH_INFO", rawPathInfo);
    env.put("QUERY_STRING", query(req.uri()));
    env.put("CONTENT_LENGTH", String.valueOf(req.body().length));
    env.put("CONTENT_TYPE", contentType);
    env.put("REMOTE_ADDR", req.remoteAddr());
    env.put("REMOTE_HOST", req.remoteAddr());
    env.put("REMOTE_USER", "");
    env.put("AUTH_TYPE", "");
    env.put("X_MATCHED_ROUTE", match.route().pattern());
    env.put(
        "X_FULL_URL",
        "http://" + (host == null ? req.serverName() + ":" + req.serverPort() : host) + req.uri());
    List<String> out = new ArrayList<>(env.size());
    env.forEach((k, v) -> out.add(k + "=" + v));
    return out;
  }

  private static String headerValue(Request req, String name) {
    for (Map.Entry<String, String> h : req.headers()) {
      if (h.getKey().equalsIgnoreCase(name)) {
        return h.getValue();
      }
    }
    return null;
  }

  /**
   * The guest's stdout as a response: header lines ({@code Name: value}, LF or CRLF), a blank line,
   * the body. {@code Status: 404 Not Found} sets the status, a {@code Location} without one is a
   * 302; at least one of Content-Type, Location and Status must be there.
   */
  static Response parse(byte[] out) throws MalformedResponse {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    int status = -1;
    String reason = null;
    boolean location = false;
    boolean contentType = false;
    int pos = 0;
    while (true) {
      int nl = indexOf(out, (byte) '\n', pos);
      if (nl < 0 || nl > MAX_RESPONSE_HEADER_BYTES) {
        throw new MalformedResponse(
            out.length == 0
                ? "the guest wrote nothing on stdout"
                : "no blank line ends the headers in the first "
                    + Math.min(out.length, MAX_RESPONSE_HEADER_BYTES)
                    + " bytes of stdout");
      }
      int end = nl > pos && out[nl - 1] == '\r' ? nl - 1 : nl;
      String line = new String(out, pos, end - pos, StandardCharsets.ISO_8859_1);
      pos = nl + 1;
      if (line.isEmpty()) {
        break;
      }
      int colon = line.indexOf(':');
      if (colon <= 0 || !isToken(line.substring(0, colon))) {
        throw new MalformedResponse("header line \"" + shorten(line) + "\" is not Name: value");
      }
      String name = line.substring(0, colon);
      String value = line.substring(colon + 1).trim();
      switch (name.toLowerCase(Locale.ROOT)) {
        case "status" -> {
          String[] parts = value.split(" ", 2);
          try {
            status = Integer.parseInt(parts[0]);
          } catch (NumberFormatException e) {
            status = -2;
          }
          if (status < 100 || status > 599) {
            throw new MalformedResponse("Status \"" + shorten(value) + "\" is not a 3-digit code");
          }
          reason = parts.length > 1 ? parts[1].trim() : null;
        }
        case "location" -> {
          location = true;
          headers.add(Map.entry(name, value));
        }
        case "content-type" -> {
          contentType = true;
          headers.add(Map.entry(name, value));
        }
        case "content-length", "transfer-encoding", "connection" -> {
          // the server frames the body itself
        }
        default -> headers.add(Map.entry(name, value));
      }
    }
    if (status < 0 && !location && !contentType) {
      throw new MalformedResponse("no Content-Type, Location or Status header");
    }
    if (status < 0) {
      status = location ? 302 : 200;
    }
    byte[] body = new byte[out.length - pos];
    System.arraycopy(out, pos, body, 0, body.length);
    return new Response(status, reason, headers, body);
  }

  private static int indexOf(byte[] b, byte v, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] == v) {
        return i;
      }
    }
    return -1;
  }

  private static boolean isToken(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".indexOf(c) >= 0) {
        return false;
      }
    }
    return true;
  }

  private static String shorten(String s) {
    return s.length() <= 60 ? s : s.substring(0, 60) + "...";
  }
}
