/* encode.h — what the encoding side of src/stream/ shares: the ladder's run (transcode.c), its
 * renditions (rendition.c), live transcodes (live.c) and the encoding chain they share (enc.c).
 * Those files are the stream half of the media stack (media/stack.h): nothing else includes
 * this header, so FFmpeg's types stay out of the rest of tonearm. */
#ifndef TONEARM_STREAM_ENCODE_H
#define TONEARM_STREAM_ENCODE_H

#include <pthread.h>
#include <stdatomic.h>

#include "stream/internal.h"

/* A block of decoded PCM, interleaved float at the source rate, shared (read-only) by every
 * encoder: the last one to drop it frees it. */
struct pcm_block {
	atomic_int refs;
	size_t frames;
	float data[];
};

#define PCM_QUEUE_CAP 8

/* A bounded single-producer single-consumer queue of blocks; NULL marks the end. The
 * producer blocks while it is full: that is what bounds memory when one encoder is slow. */
struct pcm_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pcm_block *items[PCM_QUEUE_CAP];
	size_t head, count;
};

void pcm_block_unref(struct pcm_block *b);

/* One rendition being made: its encoder thread, its muxer, its object writer. */
struct rend {
	/* set by the planner */
	enum stream_codec codec;
	int kbps;
	int src_rate, src_channels;
	int out_rate, out_channels, bits; /* bits: FLAC only (16 or 24) */
	int frame_size;                   /* FLAC block size; AAC: 1024 */
	int64_t seg_out;                  /* segment length in output samples */
	const unsigned char *key;         /* the track key (borrowed) */
	struct store_writer *w;           /* begun by the planner, committed or aborted by it */
	atomic_bool *stop;                /* shared: stop encoding (a failure elsewhere, or cancel) */

	struct pcm_queue q;
	pthread_t thread;
	bool started;

	/* results (read after join) */
	struct err err;
	int failed;
	struct stream_rendition out;      /* name, codec, rates, init_size, segments … */
	size_t segcap;
	int64_t total_out;                /* output samples fed to the encoder */

	void *av;                         /* struct rend_av, rendition.c */
};

/* Set r->out's name/codec/rates and create the codec, resampler and muxer. -1 with *e. */
int rend_open(struct rend *r, struct err *e);
/* The encoder thread body: pops blocks until NULL, encodes, muxes, encrypts, writes. */
void *rend_thread(void *arg);
/* Free the FFmpeg state and the queue's leftovers (not r->out.segments). */
void rend_close(struct rend *r);

/* The encoding chain of one output: interleaved float PCM → resampler → FIFO → encoder →
 * muxer writing to memory. Set up by its user (rendition.c, live.c); enc.c moves audio along
 * it and frees it. */
struct stream_enc {
	struct SwrContext *swr;
	struct AVCodecContext *enc;
	struct AVFormatContext *mux;
	struct AVIOContext *avio;
	struct AVAudioFifo *fifo;
	struct AVFrame *frame;
	struct AVPacket *pkt;
	uint8_t **conv; /* resampler output planes */
	int conv_cap;   /* frames */
	int64_t pts;    /* the next frame's pts, in output samples */
};

/* Resample `frames` frames of interleaved float (NULL: flush the resampler) into the FIFO.
 * 0, or -1 with *e. */
int stream_enc_resample(struct stream_enc *x, const float *in, size_t frames, struct err *e);
/* Take `n` (> 0) samples from the FIFO as one frame, padded with silence to the encoder's frame
 * size if it cannot take a short one, stamp it with x->pts (which advances by n) and send it to
 * the encoder; the caller then drains packets. 0, or -1 with *e. */
int stream_enc_send(struct stream_enc *x, int n, struct err *e);
/* Free everything in *x (NULL members are fine) and leave it zeroed. */
void stream_enc_release(struct stream_enc *x);

/* An FFmpeg error code as *e: ERR_NOMEM for ENOMEM, else ERR_INTERNAL "what: FFmpeg's words".
 * Returns -1. (rendition.c) */
int stream_averr(struct err *e, int code, const char *what);

#endif
