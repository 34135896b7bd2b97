package io.krill.oci.registry;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** A registry username and password (or token), given explicitly; krill reads no credential store. */
public record Credentials(String username, String password) {
  public Credentials {
    if (username == null || username.isEmpty() || password == null) {
      throw new IllegalArgumentException("credentials need a username and a password");
    }
  }

  public static Credentials of(String username, String password) {
    return new Credentials(username, password);
  }

  String basicHeader() {
    return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "Credentials[" + username + ", ****]";
  }
}
