#include <cdpcore/cdpcore.h>
#include <stdio.h>

int main(void) {
  cdp_workspace *ws = NULL;
  if (cdp_version_number() != CDP_VERSION_NUMBER) return 1;
  if (cdp_workspace_open(&ws, ":memory:", 8, NULL) != CDP_OK) {
    fprintf(stderr, "%s\n", cdp_last_error());
    return 1;
  }
  cdp_workspace_close(ws);
  printf("consumer_c: cdpcore %s\n", cdp_version());
  return 0;
}
