package io.krill.cri.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.api.v1.AuthConfig;
import io.krill.cri.api.v1.Image;
import io.krill.cri.image.StoredImage;
import io.krill.oci.registry.Credentials;
import io.krill.runtime.KrillException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PullImage's AuthConfig as the registry client's credentials; images as CRI reports them. */
class ImageFrontDoorTest {
  private static StoredImage withUser(String user) {
    return new StoredImage(
        "sha256:" + "ab".repeat(32),
        List.of("example.com/a:1"),
        List.of(),
        null,
        1,
        "rootfs/x",
        null,
        null,
        null,
        null,
        null,
        user);
  }

  /** As containerd: the user before any group, a number as the uid, else as the username. */
  @Test
  void toProto_imageUser_asUidOrUsername() {
    Image uid = ImageFrontDoor.toProto(withUser("1002"));
    assertTrue(uid.hasUid());
    assertEquals(1002, uid.getUid().getValue());
    assertEquals("", uid.getUsername());
    Image uidGroup = ImageFrontDoor.toProto(withUser("1003:users"));
    assertEquals(1003, uidGroup.getUid().getValue());
    assertEquals("", uidGroup.getUsername());
    Image name = ImageFrontDoor.toProto(withUser("www-data"));
    assertFalse(name.hasUid());
    assertEquals("www-data", name.getUsername());
    Image nameGroup = ImageFrontDoor.toProto(withUser("www-data:users"));
    assertFalse(nameGroup.hasUid());
    assertEquals("www-data", nameGroup.getUsername());
    Image none = ImageFrontDoor.toProto(withUser(""));
    assertFalse(none.hasUid());
    assertEquals("", none.getUsername());
  }

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
