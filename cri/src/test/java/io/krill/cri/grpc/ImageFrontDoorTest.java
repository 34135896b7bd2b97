package io.krill.cri.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.krill.cri.api.v1.AuthConfig;
import io.krill.oci.registry.Credentials;
import io.krill.runtime.KrillException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** PullImage's AuthConfig as the registry client's credentials. */
class ImageFrontDoorTest {
  @Test
  void credentials_eachAuthConfigShape() {
    assertNull(ImageFrontDoor.credentials(AuthConfig.getDefaultInstance()));
    assertEquals(
        Credentials.of("u", "p"),
        ImageFrontDoor.credentials(
            AuthConfig.newBuilder().setUsername("u").setPassword("p").build()));
    String auth = Base64.getEncoder().encodeToString("u:p:q".getBytes(StandardCharsets.UTF_8));
    assertEquals(
        Credentials.of("u", "p:q"),
        ImageFrontDoor.credentials(AuthConfig.newBuilder().setAuth(auth).build()));
    assertEquals(
        Credentials.registryToken("rt"),
        ImageFrontDoor.credentials(AuthConfig.newBuilder().setRegistryToken("rt").build()));
    assertEquals(
        Credentials.identityToken("<token>", "it"),
        ImageFrontDoor.credentials(
            AuthConfig.newBuilder().setUsername("<token>").setIdentityToken("it").build()));
  }

  @Test
  void credentials_authNotBase64UserPassword_invalidArgument() {
    assertThrows(
        KrillException.class,
        () -> ImageFrontDoor.credentials(AuthConfig.newBuilder().setAuth("%%").build()));
    assertThrows(
        KrillException.class,
        () ->
            ImageFrontDoor.credentials(
                AuthConfig.newBuilder()
                    .setAuth(
                        Base64.getEncoder()
                            .encodeToString("nocolon".getBytes(StandardCharsets.UTF_8)))
                    .build()));
  }
}
