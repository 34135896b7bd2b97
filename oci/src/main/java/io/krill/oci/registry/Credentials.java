package io.krill.oci.registry;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * A registry login, given explicitly (krill reads no credential store): a username and password, a
 * registry token (a bearer token sent as is), or an identity token (an OAuth2 refresh token that
 * the registry's token service exchanges for an access token, as docker and containerd do).
 */
public record Credentials(Kind kind, String username, String secret) {
  /** What {@link #secret()} is. */
  public enum Kind {
    PASSWORD,
    REGISTRY_TOKEN,
    IDENTITY_TOKEN
  }

  public Credentials {
    if (kind == null || secret == null) {
      throw new IllegalArgumentException("credentials need a kind and a secret");
    }
    if (kind == Kind.PASSWORD && (username == null || username.isEmpty())) {
      throw new IllegalArgumentException("credentials need a username and a password");
    }
    if (kind != Kind.PASSWORD && secret.isEmpty()) {
      throw new IllegalArgumentException("a " + describe(kind) + " may not be empty");
    }
    username = username == null ? "" : username;
  }

  public static Credentials of(String username, String password) {
    return new Credentials(Kind.PASSWORD, username, password);
  }

  /** A bearer token the registry accepts as is (CRI's {@code AuthConfig.registry_token}). */
  public static Credentials registryToken(String token) {
    return new Credentials(Kind.REGISTRY_TOKEN, "", token);
  }

  /**
   * An OAuth2 refresh token (CRI's {@code AuthConfig.identity_token}); {@code username} may be
   * empty.
   */
  public static Credentials identityToken(String username, String refreshToken) {
    return new Credentials(Kind.IDENTITY_TOKEN, username, refreshToken);
  }

  /** How messages name this login, without its secret. */
  public String describe() {
    return kind == Kind.PASSWORD ? "the credentials for " + username : "the " + describe(kind);
  }

  private static String describe(Kind kind) {
    return kind == Kind.REGISTRY_TOKEN
        ? "registry token"
        : kind == Kind.IDENTITY_TOKEN ? "identity token" : "password";
  }

  String basicHeader() {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((username + ":" + secret).getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return kind == Kind.PASSWORD
        ? "Credentials[" + username + ", ****]"
        : "Credentials[" + describe(kind) + " ****]";
  }
}
