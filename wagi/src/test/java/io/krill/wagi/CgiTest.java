package io.krill.wagi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.runtime.RequestService;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CgiTest {
  private static final RequestService.Route ROUTE =
      new RequestService.Route("/api/...", "/app.wasm", null);

  private static Cgi.Request request(String method, String uri, byte[] body) {
    return new Cgi.Request(
        method,
        uri,
        "HTTP/1.1",
        List.of(
            Map.entry("Host", "example.com:8080"),
            Map.entry("Content-Type", "text/plain"),
            Map.entry("Content-Length", String.valueOf(body.length)),
            Map.entry("X-Test", "one"),
            Map.entry("x-test", "two"),
            Map.entry("Authorization", "secret")),
        body,
        "10.0.0.7",
        "example.com",
        8080);
  }

  private static Map<String, String> envMap(List<String> env) {
    java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
    for (String kv : env) {
      int eq = kv.indexOf('=');
      m.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return m;
  }

  @Test
  void environmentHoldsTheCgiVariablesOverTheContainers() {
    byte[] body = "hi".getBytes(StandardCharsets.UTF_8);
    Routes.Match match = new Routes.Match(ROUTE, "/api", "/a%20b/c");
    Map<String, String> env =
        envMap(
            Cgi.env(
                List.of("GREETING=hello", "REQUEST_METHOD=spoofed", "PATH=/bin"),
                request("POST", "/api/a%20b/c?x=1&y=two%20words", body),
                match));
    assertEquals("hello", env.get("GREETING"));
    assertEquals("/bin", env.get("PATH"));
    assertEquals("POST", env.get("REQUEST_METHOD"));
    assertEquals("CGI/1.1", env.get("GATEWAY_INTERFACE"));
    assertEquals("HTTP/1.1", env.get("SERVER_PROTOCOL"));
    assertEquals("example.com", env.get("SERVER_NAME"));
    assertEquals("8080", env.get("SERVER_PORT"));
    assertEquals("/api", env.get("SCRIPT_NAME"));
    assertEquals("/a b/c", env.get("PATH_INFO"));
    assertEquals("/a%20b/c", env.get("X_RAW_PATH_INFO"));
    assertEquals("x=1&y=two%20words", env.get("QUERY_STRING"));
    assertEquals("2", env.get("CONTENT_LENGTH"));
    assertEquals("text/plain", env.get("CONTENT_TYPE"));
    assertEquals("10.0.0.7", env.get("REMOTE_ADDR"));
    assertEquals("/api/...", env.get("X_MATCHED_ROUTE"));
    assertEquals("http://example.com:8080/api/a%20b/c?x=1&y=two%20words", env.get("X_FULL_URL"));
    assertEquals("one, two", env.get("HTTP_X_TEST"));
    assertEquals("example.com:8080", env.get("HTTP_HOST"));
    assertTrue(!env.containsKey("HTTP_AUTHORIZATION") && !env.containsKey("HTTP_CONTENT_LENGTH"));
  }

  @Test
  void argvIsTheModuleThenTheQueryParts() {
    assertEquals(
        List.of("/app.wasm", "x=1", "y=two words"), Cgi.args("/app.wasm", "x=1&y=two%20words"));
    assertEquals(List.of("/app.wasm"), Cgi.args("/app.wasm", ""));
  }

  private static Cgi.Response parse(String out) throws Cgi.MalformedResponse {
    return Cgi.parse(out.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void responseHeadersThenBody() throws Exception {
    Cgi.Response r = parse("Content-Type: text/plain\nX-One: 1\n\nhello\n");
    assertEquals(200, r.status());
    assertEquals(
        List.of(Map.entry("Content-Type", "text/plain"), Map.entry("X-One", "1")), r.headers());
    assertEquals("hello\n", new String(r.body(), StandardCharsets.UTF_8));

    r = parse("Status: 404 Not Here\r\nContent-Type: text/html\r\n\r\n<p>no</p>");
    assertEquals(404, r.status());
    assertEquals("Not Here", r.reason());
    assertEquals("<p>no</p>", new String(r.body(), StandardCharsets.UTF_8));

    r = parse("Location: /elsewhere\n\n");
    assertEquals(302, r.status());
    assertEquals(List.of(Map.entry("Location", "/elsewhere")), r.headers());

    r = parse("Status: 204\nContent-Length: 99\n\n");
    assertEquals(204, r.status());
    assertEquals(List.of(), r.headers());
  }

  @Test
  void malformedResponsesSayWhatIsWrong() {
    assertEquals(
        "the guest wrote nothing on stdout",
        assertThrows(Cgi.MalformedResponse.class, () -> parse("")).getMessage());
    assertEquals(
        "header line \"this is not a header\" is not Name: value",
        assertThrows(Cgi.MalformedResponse.class, () -> parse("this is not a header\n\nbody"))
            .getMessage());
    assertTrue(
        assertThrows(Cgi.MalformedResponse.class, () -> parse("Content-Type: text/plain"))
            .getMessage()
            .startsWith("no blank line ends the headers"));
    assertEquals(
        "no Content-Type, Location or Status header",
        assertThrows(Cgi.MalformedResponse.class, () -> parse("X-Only: 1\n\nbody")).getMessage());
    assertEquals(
        "Status \"abc\" is not a 3-digit code",
        assertThrows(Cgi.MalformedResponse.class, () -> parse("Status: abc\n\n")).getMessage());
    assertThrows(Cgi.MalformedResponse.class, () -> parse("Status: 99\n\n"));
    assertThrows(Cgi.MalformedResponse.class, () -> parse("Bad Name: x\n\n"));
  }
}
