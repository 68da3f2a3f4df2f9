//! gRPC codecs for message bodies that are already encoded.
//!
//! - [`BytesCodec`]: raw bytes both ways; the load generator sends a request encoded once up front and
//!   does not decode the answers.
//! - [`PreEncodedCodec`]: the server side of the `MetadataService` lookups: the request is decoded as
//!   usual, the answer is protobuf bytes the service already holds (encoded once per cached record).

use std::marker::PhantomData;

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;
use tonic_prost::ProstDecoder;

/// A codec that sends and receives message bodies as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

/// Writes a message that is already encoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesEncoder;

/// Reads a message without decoding it.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesDecoder;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesEncoder;
    type Decoder = BytesDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesDecoder
    }
}

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// Decodes requests of type `Request` with prost and writes answers that are already encoded.
#[derive(Debug)]
pub struct PreEncodedCodec<Request>(PhantomData<fn() -> Request>);

impl<Request> Default for PreEncodedCodec<Request> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<Request> Codec for PreEncodedCodec<Request>
where
    Request: prost::Message + Default + Send + 'static,
{
    type Encode = Bytes;
    type Decode = Request;
    type Encoder = BytesEncoder;
    type Decoder = ProstDecoder<Request>;

    fn encoder(&mut self) -> Self::Encoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder::default()
    }
}
