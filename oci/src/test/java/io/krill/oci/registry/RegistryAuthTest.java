package io.krill.oci.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.krill.oci.image.ImageReference;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The challenge/response flows, against a fake registry: the distribution registry can only do
 * basic auth with bcrypt htpasswd files, and no token service, so bearer tokens are exercised here.
 */
class RegistryAuthTest {
  private static final byte[] MANIFEST = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
  private static final String BASIC_OK =
      "Basic " + Base64.getEncoder().encodeToString("u:p".getBytes());
  private HttpServer server;
  private final List<String> tokenRequests = new CopyOnWriteArrayList<>();
  private volatile String scheme = "Bearer";

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/token",
        ex -> {
          if (ex.getRequestMethod().equals("POST")) {
            String form = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            tokenRequests.add(
                "POST " + ex.getRequestHeaders().getFirst("Content-Type") + " " + form);
            boolean ok =
                form.contains("grant_type=refresh_token")
                    && form.contains("refresh_token=refresh%2Bme");
            respond(
                ex,
                ok ? 200 : 401,
                (ok ? "{\"access_token\":\"t0k\",\"expires_in\":300}" : "{}").getBytes());
            return;
          }
          tokenRequests.add(ex.getRequestURI().getQuery());
          if (!BASIC_OK.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            respond(ex, 401, "{}".getBytes());
          } else {
            respond(ex, 200, "{\"token\":\"t0k\"}".getBytes());
          }
        });
    server.createContext(
        "/v2/",
        ex -> {
          String auth = ex.getRequestHeaders().getFirst("Authorization");
          if ("Bearer t0k".equals(auth)
              || "Bearer registry-t0k".equals(auth)
              || (scheme.equals("Basic") && BASIC_OK.equals(auth))) {
            ex.getResponseHeaders()
                .set("Content-Type", "application/vnd.oci.image.manifest.v1+json");
            respond(ex, 200, MANIFEST);
            return;
          }
          String realm = "http://" + host() + "/token";
          ex.getResponseHeaders()
              .set(
                  "WWW-Authenticate",
                  scheme.equals("Basic")
                      ? "Basic realm=\"r\""
                      : "Bearer realm=\""
                          + realm
                          + "\",service=\"fake\",scope=\"repository:a/b:pull\"");
          respond(
              ex,
              401,
              "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}"
                  .getBytes());
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  private static void respond(HttpExchange ex, int status, byte[] body) throws IOException {
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
    ex.close();
  }

  private RegistryClient client(Credentials c) {
    return RegistryClient.of(ImageReference.parse(host() + "/a/b:t"), c, false);
  }

  @Test
  void bearer_withCredentials_tokenFetchedWithScopeAndUsed() {
    assertArrayEquals(MANIFEST, client(Credentials.of("u", "p")).getManifest("t").bytes());
    assertEquals(List.of("service=fake&scope=repository:a/b:pull"), tokenRequests);
  }

  @Test
  void bearer_anonymousRefused_saysHowToLogIn() {
    RegistryException e =
        assertThrows(RegistryException.class, () -> client(null).getManifest("t"));
    assertEquals(401, e.status());
    assertTrue(
        e.getMessage()
            .contains(
                "the token service refused anonymous access (401); log in: krill image takes"
                    + " --username and --password-stdin, CRI's PullImage its auth config"),
        e.getMessage());
  }

  @Test
  void bearer_wrongPassword_namesTheUser() {
    RegistryException e =
        assertThrows(
            RegistryException.class, () -> client(Credentials.of("u", "wrong")).getManifest("t"));
    assertTrue(e.getMessage().contains("refused the credentials for u"), e.getMessage());
  }

  @Test
  void basic_withCredentials_works_withoutThemAsks() {
    scheme = "Basic";
    assertArrayEquals(MANIFEST, client(Credentials.of("u", "p")).getManifest("t").bytes());
    RegistryException e =
        assertThrows(RegistryException.class, () -> client(null).getManifest("t"));
    assertTrue(e.getMessage().contains("requires a login (basic auth)"), e.getMessage());
    RegistryException wrong =
        assertThrows(
            RegistryException.class, () -> client(Credentials.of("u", "bad")).getManifest("t"));
    assertTrue(
        wrong
            .getMessage()
            .contains(
                "401 (unauthorized: check the credentials; krill image takes --username and"
                    + " --password-stdin, CRI's PullImage its auth config): UNAUTHORIZED"
                    + " authentication required"),
        wrong.getMessage());
  }

  @Test
  void credentials_toString_hidesPassword() {
    assertEquals("Credentials[u, ****]", Credentials.of("u", "secret").toString());
    assertEquals(
        "Credentials[identity token ****]", Credentials.identityToken("", "secret").toString());
  }

  @Test
  void registryToken_sentAsBearerFromTheFirstRequest_noTokenRequest() {
    assertArrayEquals(
        MANIFEST, client(Credentials.registryToken("registry-t0k")).getManifest("t").bytes());
    assertEquals(List.of(), tokenRequests);
  }

  @Test
  void registryToken_refused_saysSo() {
    RegistryException e =
        assertThrows(
            RegistryException.class,
            () -> client(Credentials.registryToken("stale")).getManifest("t"));
    assertEquals(401, e.status());
    assertTrue(
        e.getMessage()
            .contains(
                "the registry refused the registry token (it asks for bearer authentication)"),
        e.getMessage());
    assertEquals(List.of(), tokenRequests);
  }

  @Test
  void identityToken_exchangedWithOAuthRefreshGrant_thenAccessTokenUsed() {
    assertArrayEquals(
        MANIFEST, client(Credentials.identityToken("", "refresh+me")).getManifest("t").bytes());
    assertEquals(
        List.of(
            "POST application/x-www-form-urlencoded grant_type=refresh_token&refresh_token=refresh%2Bme"
                + "&client_id=krill&scope=repository%3Aa%2Fb%3Apull&service=fake"),
        tokenRequests);
  }

  @Test
  void identityToken_refusedByTokenService_namesIt() {
    RegistryException e =
        assertThrows(
            RegistryException.class,
            () -> client(Credentials.identityToken("", "expired")).getManifest("t"));
    assertTrue(
        e.getMessage().contains("the token service refused the identity token (401)"),
        e.getMessage());
  }

  @Test
  void identityToken_basicChallenge_saysItCannotAnswer() {
    scheme = "Basic";
    RegistryException e =
        assertThrows(
            RegistryException.class,
            () -> client(Credentials.identityToken("", "refresh+me")).getManifest("t"));
    assertTrue(e.getMessage().contains("an identity token cannot answer"), e.getMessage());
  }
}
