package io.krill.oci.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * HTTP to one repository of one registry, with authentication. A request is sent as is; on a 401
 * the challenge is answered once (a bearer token from the realm, or basic credentials) and the
 * request is sent again with the answer, which is then kept for every later request. A registry
 * token is sent from the first request on; an identity token is exchanged at the realm for an
 * access token with an OAuth2 POST ({@code grant_type=refresh_token}). Error statuses become {@link
 * RegistryException}s here and nowhere else.
 */
final class RegistryTransport {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Said wherever a login is missing or wrong: the same client serves {@code krill image} and
   * {@code krill cri}.
   */
  static final String HOW_TO_LOG_IN =
      "krill image takes --username and --password-stdin, CRI's PullImage its" + " auth config";

  private final HttpClient http;
  private final String repository;
  private final Credentials credentials;
  private volatile String authorization;

  RegistryTransport(String repository, Credentials credentials) {
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(20))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    this.repository = repository;
    this.credentials = credentials;
    if (credentials != null && credentials.kind() == Credentials.Kind.REGISTRY_TOKEN) {
      authorization = "Bearer " + credentials.secret();
    }
  }

  /**
   * Sends a request built by {@code build} (called again for the retry, so bodies are fresh each
   * time).
   */
  <T> HttpResponse<T> send(
      Supplier<HttpRequest.Builder> build, HttpResponse.BodyHandler<T> handler, String what) {
    HttpResponse<T> r = sendOnce(build.get(), handler, what);
    if (r.statusCode() == 401) {
      String challenge = r.headers().firstValue("WWW-Authenticate").orElse(null);
      discard(r);
      authorize(Challenge.parse(challenge), r.uri(), what);
      r = sendOnce(build.get(), handler, what);
    }
    return r;
  }

  private <T> HttpResponse<T> sendOnce(
      HttpRequest.Builder b, HttpResponse.BodyHandler<T> handler, String what) {
    if (authorization != null) {
      b.setHeader("Authorization", authorization);
    }
    HttpRequest request = b.timeout(Duration.ofMinutes(10)).build();
    try {
      return http.send(request, handler);
    } catch (IOException e) {
      throw new RegistryException(what + ": " + unreachable(request.uri(), e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(what + ": interrupted", e);
    }
  }

  /** GETs without our credentials, for a redirect to blob storage that has its own signature. */
  HttpResponse<InputStream> getUnauthenticated(URI uri, String what) {
    return sendOnceNoAuth(HttpRequest.newBuilder(uri).GET(), what);
  }

  private HttpResponse<InputStream> sendOnceNoAuth(HttpRequest.Builder b, String what) {
    HttpRequest request = b.timeout(Duration.ofMinutes(10)).build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw new RegistryException(what + ": " + unreachable(request.uri(), e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(what + ": interrupted", e);
    }
  }

  /**
   * Which server could not be reached, why, and what to check. The JDK's client often throws a
   * ConnectException without a message, its cause saying more by its type alone.
   */
  static String unreachable(URI uri, IOException e) {
    String server = uri.getScheme() + "://" + uri.getAuthority();
    String why = null;
    for (Throwable t = e; t != null && why == null; t = t.getCause()) {
      if (t instanceof HttpConnectTimeoutException) {
        why = "connecting timed out";
      } else if (t instanceof UnresolvedAddressException || t instanceof UnknownHostException) {
        why = "the host name " + uri.getHost() + " does not resolve";
      } else if (t instanceof ClosedChannelException) {
        why = "connection refused (nothing accepts connections on that address and port)";
      } else if (t.getMessage() != null && !t.getMessage().isBlank()) {
        why = t.getMessage();
      }
    }
    if (why == null) {
      why = e.getClass().getSimpleName();
    }
    return "cannot reach the registry at "
        + server
        + ": "
        + why
        + "; check that the registry runs and that this node reaches it (host name, port,"
        + " firewall, proxy)"
        + ("https".equals(uri.getScheme())
            ? ", and if it speaks plain HTTP, list it as a plain-HTTP registry"
            : "");
  }

  private void authorize(Challenge c, URI uri, String what) {
    if (c == null) {
      throw new RegistryException(
          401, what + ": 401 Unauthorized without a WWW-Authenticate challenge");
    }
    if (credentials != null && credentials.kind() == Credentials.Kind.REGISTRY_TOKEN) {
      throw new RegistryException(
          401,
          what
              + ": the registry refused the registry token (it asks for "
              + c.scheme()
              + " authentication); pass a token that is valid for "
              + repository
              + ", or other credentials");
    }
    if (c.isBasic()) {
      if (credentials != null && credentials.kind() == Credentials.Kind.IDENTITY_TOKEN) {
        throw new RegistryException(
            401,
            what
                + ": the registry asks for a username and password (basic auth), which"
                + " an identity token cannot answer; pass a username and password");
      }
      if (credentials == null) {
        throw new RegistryException(
            401, what + ": the registry requires a login (basic auth): " + HOW_TO_LOG_IN);
      }
      authorization = credentials.basicHeader();
      return;
    }
    if (!c.isBearer() || c.params().get("realm") == null) {
      throw new RegistryException(
          401, what + ": unsupported authentication challenge \"" + c.scheme() + "\"");
    }
    checkRealm(c.params().get("realm"), what);
    String scope = c.params().getOrDefault("scope", "repository:" + repository + ":pull,push");
    StringBuilder q =
        new StringBuilder(c.params().get("realm"))
            .append(c.params().get("realm").contains("?") ? '&' : '?');
    if (c.params().containsKey("service")) {
      q.append("service=").append(enc(c.params().get("service"))).append('&');
    }
    q.append("scope=").append(enc(scope));
    HttpRequest.Builder b;
    if (credentials != null && credentials.kind() == Credentials.Kind.IDENTITY_TOKEN) {
      // OAuth2 refresh-token grant, as docker and containerd send it: a form POSTed to the realm.
      StringBuilder form =
          new StringBuilder("grant_type=refresh_token&refresh_token=")
              .append(enc(credentials.secret()))
              .append("&client_id=krill&scope=")
              .append(enc(scope));
      if (c.params().containsKey("service")) {
        form.append("&service=").append(enc(c.params().get("service")));
      }
      b =
          HttpRequest.newBuilder(URI.create(c.params().get("realm")))
              .header("Content-Type", "application/x-www-form-urlencoded")
              .POST(HttpRequest.BodyPublishers.ofString(form.toString()));
    } else {
      b = HttpRequest.newBuilder(URI.create(q.toString())).GET();
      if (credentials != null) {
        b.header("Authorization", credentials.basicHeader());
      }
    }
    HttpResponse<InputStream> r =
        sendOnceNoAuth(b, what + " (token request to " + c.params().get("realm") + ")");
    try (InputStream in = r.body()) {
      byte[] body = in.readNBytes(1 << 20);
      if (r.statusCode() != 200) {
        throw new RegistryException(
            r.statusCode(),
            what
                + ": the token service refused "
                + (credentials == null ? "anonymous access" : credentials.describe())
                + " ("
                + r.statusCode()
                + ")"
                + (credentials == null ? "; log in: " + HOW_TO_LOG_IN : ""));
      }
      JsonNode t = JSON.readTree(body);
      String token =
          t.hasNonNull("token") ? t.get("token").asText() : t.path("access_token").asText(null);
      if (token == null || token.isEmpty()) {
        throw new RegistryException(401, what + ": the token service answered without a token");
      }
      authorization = "Bearer " + token;
    } catch (IOException e) {
      throw new RegistryException(
          what + ": bad answer from the token service: " + e.getMessage(), e);
    }
  }

  /** The token service's URL comes from the registry: refuse one the client could not ask. */
  private static void checkRealm(String realm, String what) {
    URI u;
    try {
      u = new URI(realm);
    } catch (URISyntaxException e) {
      u = null;
    }
    if (u == null
        || u.getHost() == null
        || !("http".equalsIgnoreCase(u.getScheme()) || "https".equalsIgnoreCase(u.getScheme()))) {
      throw new RegistryException(
          401,
          what
              + ": the registry's token realm \""
              + realm
              + "\" is not an absolute http or https URL");
    }
  }

  /**
   * Turns an unexpected status into a precise exception; reads the registry's error document if
   * any.
   */
  RegistryException error(HttpResponse<?> r, String what) {
    int s = r.statusCode();
    String detail = registryErrors(r);
    String hint =
        switch (s) {
          case 401 -> " (unauthorized: check the credentials; " + HOW_TO_LOG_IN + ")";
          case 403 -> " (denied: these credentials may not access " + repository + ")";
          case 404 -> " (not found)";
          default -> "";
        };
    return new RegistryException(
        s, what + ": registry answered " + s + hint + (detail.isEmpty() ? "" : ": " + detail));
  }

  private static String registryErrors(HttpResponse<?> r) {
    Object body = r.body();
    byte[] bytes = null;
    try {
      if (body instanceof InputStream in) {
        try (in) {
          bytes = in.readNBytes(64 * 1024);
        }
      } else if (body instanceof byte[] b) {
        bytes = b;
      }
      if (bytes == null || bytes.length == 0) {
        return "";
      }
      JsonNode errors = JSON.readTree(bytes).path("errors");
      StringBuilder sb = new StringBuilder();
      for (JsonNode e : errors) {
        sb.append(sb.length() == 0 ? "" : "; ")
            .append(e.path("code").asText())
            .append(' ')
            .append(e.path("message").asText());
      }
      return sb.toString();
    } catch (IOException e) {
      return "";
    }
  }

  static void discard(HttpResponse<?> r) {
    if (r.body() instanceof InputStream in) {
      try {
        in.close();
      } catch (IOException ignored) {
        // the connection is dropped instead of reused
      }
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
