package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.expectError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.LocalRegistry;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.TestPrograms;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PullImage's registry and identity tokens against the distribution registry with token
 * authentication: the registry verifies every bearer token's signature against a certificate made
 * here, and a token service in the test issues those tokens (to skopeo for a username and password,
 * to krill for an identity token, which it exchanges with an OAuth2 refresh-token POST). The
 * registry token is a token minted here and sent as is.
 */
class CriServerRegistryTokensE2ETest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SERVICE = "krill-test-registry";
  private static final String ISSUER = "krill-test-issuer";
  private static final String REFRESH_TOKEN = "refresh-token-for-krill";
  private static final String PUSHER = "pusher:secret";

  @TempDir static Path tmp;
  static HttpServer tokenService;
  static final List<String> tokenRequests = new CopyOnWriteArrayList<>();
  static PrivateKey key;
  static X509Certificate cert;
  static KrillCriFixture krill;
  static LocalRegistry registry;
  static String ref;

  @BeforeAll
  static void setUp() throws Exception {
    makeSigningKey();
    tokenService = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    tokenService.createContext("/token", CriServerRegistryTokensE2ETest::issue);
    tokenService.start();
    krill =
        KrillCriFixture.in(tmp)
            .registryConfig(
                List.of(
                    "auth:",
                    "  token:",
                    "    realm: http://127.0.0.1:" + tokenService.getAddress().getPort() + "/token",
                    "    service: " + SERVICE,
                    "    issuer: " + ISSUER,
                    "    rootcertbundle: " + tmp.resolve("cert.pem")))
            .start();
    registry = krill.registry();
    ref =
        registry.push(
            OciImage.named("cri/private:v1")
                .layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
                .entrypoint("/hello.wasm")
                .writeTarball(tmp.resolve("private.tar")),
            "cri/private:v1",
            PUSHER);
  }

  @AfterAll
  static void tearDown() throws Exception {
    try {
      if (krill != null) {
        krill.close();
      }
    } finally {
      if (tokenService != null) {
        tokenService.stop(0);
      }
    }
  }

  static Path socket() {
    return krill.socket();
  }

  /**
   * An RSA key and its self-signed certificate, made with the JDK's keytool; the registry trusts
   * the latter.
   */
  static void makeSigningKey() throws Exception {
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    Path store = tmp.resolve("token.p12");
    run(
        keytool.toString(),
        "-genkeypair",
        "-alias",
        "token",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-dname",
        "CN=krill-test-token",
        "-validity",
        "2",
        "-keystore",
        store.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        "changeit",
        "-keypass",
        "changeit");
    run(
        keytool.toString(),
        "-exportcert",
        "-rfc",
        "-alias",
        "token",
        "-keystore",
        store.toString(),
        "-storepass",
        "changeit",
        "-file",
        tmp.resolve("cert.pem").toString());
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(store.toFile())) {
      ks.load(in, "changeit".toCharArray());
    }
    key = (PrivateKey) ks.getKey("token", "changeit".toCharArray());
    cert = (X509Certificate) ks.getCertificate("token");
  }

  static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      fail(String.join(" ", cmd) + " failed: " + out);
    }
  }

  /**
   * A token the registry accepts for {@code scopes} ({@code repository:NAME:ACTIONS}), signed RS256
   * with x5c.
   */
  static String mint(List<String> scopes) throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    ObjectNode header = JSON.createObjectNode().put("alg", "RS256").put("typ", "JWT");
    header.putArray("x5c").add(Base64.getEncoder().encodeToString(cert.getEncoded()));
    long now = System.currentTimeMillis() / 1000;
    ObjectNode claims =
        JSON.createObjectNode()
            .put("iss", ISSUER)
            .put("sub", "tester")
            .put("aud", SERVICE)
            .put("exp", now + 600)
            .put("nbf", now - 60)
            .put("iat", now)
            .put("jti", UUID.randomUUID().toString());
    var access = claims.putArray("access");
    for (String s : scopes) {
      String[] parts = s.split(":");
      if (parts.length == 3 && parts[0].equals("repository")) {
        ObjectNode a = access.addObject().put("type", "repository").put("name", parts[1]);
        for (String action : parts[2].split(",")) {
          a.withArray("actions").add(action);
        }
      }
    }
    String signed =
        b64.encodeToString(JSON.writeValueAsBytes(header))
            + "."
            + b64.encodeToString(JSON.writeValueAsBytes(claims));
    Signature rsa = Signature.getInstance("SHA256withRSA");
    rsa.initSign(key);
    rsa.update(signed.getBytes(StandardCharsets.US_ASCII));
    return signed + "." + b64.encodeToString(rsa.sign());
  }

  /**
   * The token service: GET with basic auth (docker's and skopeo's login) or an OAuth2 POST with a
   * refresh token (what an identity token is); anything else is refused.
   */
  static void issue(HttpExchange ex) throws IOException {
    try {
      List<String> scopes = new ArrayList<>();
      boolean allowed;
      if (ex.getRequestMethod().equals("POST")) {
        Map<String, String> form =
            formOf(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        tokenRequests.add(
            "POST grant_type="
                + form.get("grant_type")
                + " service="
                + form.get("service")
                + " scope="
                + form.get("scope"));
        allowed =
            "refresh_token".equals(form.get("grant_type"))
                && REFRESH_TOKEN.equals(form.get("refresh_token"))
                && SERVICE.equals(form.get("service"));
        scopes.addAll(List.of(form.getOrDefault("scope", "").split(" ")));
      } else {
        String query =
            ex.getRequestURI().getRawQuery() == null ? "" : ex.getRequestURI().getRawQuery();
        for (String kv : query.split("&")) {
          if (kv.startsWith("scope=")) {
            scopes.add(URLDecoder.decode(kv.substring(6), StandardCharsets.UTF_8));
          }
        }
        String basic =
            "Basic " + Base64.getEncoder().encodeToString(PUSHER.getBytes(StandardCharsets.UTF_8));
        allowed = basic.equals(ex.getRequestHeaders().getFirst("Authorization"));
        tokenRequests.add("GET " + (allowed ? "pusher" : "anonymous"));
      }
      byte[] body;
      if (allowed) {
        String token = mint(scopes);
        body =
            JSON.writeValueAsBytes(
                JSON.createObjectNode()
                    .put("token", token)
                    .put("access_token", token)
                    .put("expires_in", 600));
      } else {
        body =
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"no such login\"}]}"
                .getBytes(StandardCharsets.UTF_8);
      }
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(allowed ? 200 : 401, body.length);
      ex.getResponseBody().write(body);
    } catch (Exception e) {
      ex.sendResponseHeaders(500, -1);
    } finally {
      ex.close();
    }
  }

  static Map<String, String> formOf(String body) {
    Map<String, String> form = new HashMap<>();
    for (String kv : body.split("&")) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        form.put(
            kv.substring(0, eq), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return form;
  }

  static String pull(CriClient c, AuthConfig auth) {
    return c.images()
        .pullImage(
            PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(ref))
                .setAuth(auth)
                .build())
        .getImageRef();
  }

  static void removeAndCheckGone(CriClient c) {
    ImageSpec spec = ImageSpec.newBuilder().setImage(ref).build();
    c.images().removeImage(RemoveImageRequest.newBuilder().setImage(spec).build());
    assertTrue(
        !c.images().imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build()).hasImage());
  }

  @Test
  void identityToken_exchangedWithRefreshGrant_pulls() {
    tokenRequests.clear();
    try (CriClient c = new CriClient(socket())) {
      String id = pull(c, AuthConfig.newBuilder().setIdentityToken(REFRESH_TOKEN).build());
      assertTrue(id.startsWith("sha256:"), id);
      assertEquals(
          List.of(
              "POST grant_type=refresh_token service="
                  + SERVICE
                  + " scope=repository:cri/private:pull"),
          tokenRequests);
      removeAndCheckGone(c);
    }
  }

  @Test
  void registryToken_sentAsIs_pullsWithoutTheTokenService() throws Exception {
    tokenRequests.clear();
    try (CriClient c = new CriClient(socket())) {
      String token = mint(List.of("repository:cri/private:pull"));
      String id = pull(c, AuthConfig.newBuilder().setRegistryToken(token).build());
      assertTrue(id.startsWith("sha256:"), id);
      assertEquals(List.of(), tokenRequests, "a registry token needs no token service");
      removeAndCheckGone(c);
    }
  }

  @Test
  void missingOrWrongTokens_unauthenticated_namingWhatWasRefused() throws Exception {
    try (CriClient c = new CriClient(socket())) {
      StatusRuntimeException anonymous =
          expectError(() -> pull(c, AuthConfig.getDefaultInstance()));
      assertEquals(
          Status.Code.UNAUTHENTICATED, anonymous.getStatus().getCode(), anonymous.toString());
      assertTrue(
          anonymous.getStatus().getDescription().startsWith("pull " + ref + ": "),
          anonymous.toString());
      assertTrue(
          anonymous
              .getStatus()
              .getDescription()
              .contains(
                  "the token service refused anonymous access (401);"
                      + " log in: krill image takes --username and --password-stdin, CRI's PullImage its auth config"),
          anonymous.toString());

      StatusRuntimeException identity =
          expectError(() -> pull(c, AuthConfig.newBuilder().setIdentityToken("expired").build()));
      assertEquals(
          Status.Code.UNAUTHENTICATED, identity.getStatus().getCode(), identity.toString());
      assertTrue(
          identity
              .getStatus()
              .getDescription()
              .contains("the token service refused the identity token"),
          identity.toString());

      // Signed for another repository: the registry itself refuses it.
      String other = mint(List.of("repository:cri/other:pull"));
      StatusRuntimeException registryToken =
          expectError(() -> pull(c, AuthConfig.newBuilder().setRegistryToken(other).build()));
      assertEquals(
          Status.Code.UNAUTHENTICATED,
          registryToken.getStatus().getCode(),
          registryToken.toString());
      assertTrue(
          registryToken
              .getStatus()
              .getDescription()
              .contains("the registry refused the registry token"),
          registryToken.toString());
      assertTrue(
          c.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList().isEmpty());
    }
  }
}
