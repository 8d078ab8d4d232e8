/* cancel.h - stopping long work early. nnclr_train installs its should_stop hook here for the
 * whole run, so that a signal is obeyed within about a second in every phase, not only between
 * training steps: feature extraction checks it per batch, kNN per block of queries, the linear
 * probe per epoch, the image-folder reader per file. Work that stops returns
 * NNCLR_ERR_INTERRUPTED. Outside nnclr_train nothing is installed and nothing is cancelled. */
#ifndef NNCLR_CORE_CANCEL_H
#define NNCLR_CORE_CANCEL_H

/* fn(user) != 0 means stop; NULL uninstalls. */
void cancel_install(int (*fn)(void *user), void *user);
/* 1 when the installed check asks to stop. Cheap; call it between pieces of work. */
int cancel_requested(void);

#endif
