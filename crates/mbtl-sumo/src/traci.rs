//! The part of SUMO's TraCI protocol the backend speaks, over TCP (the protocol is SUMO's
//! documented wire format; every number is big-endian).
//!
//! A message is a 4-byte total length and one or more commands; a command is a length (one
//! byte, or 0 and then 4 bytes when it exceeds 255), an id and its content. SUMO answers each
//! command with a status (id, result code, description) and, for a query, a response
//! command; a simulation step's answer also carries every subscription's values, which is
//! what keeps one step to one round trip here however many vehicles run.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::SumoError;

pub(crate) const CMD_GETVERSION: u8 = 0x00;
pub(crate) const CMD_SIMSTEP: u8 = 0x02;
pub(crate) const CMD_CLOSE: u8 = 0x7f;
pub(crate) const CMD_GET_LANE_VARIABLE: u8 = 0xa3;
pub(crate) const CMD_SET_TL_VARIABLE: u8 = 0xc2;
pub(crate) const CMD_SUBSCRIBE_VEHICLE_VARIABLE: u8 = 0xd4;
pub(crate) const CMD_SUBSCRIBE_SIM_VARIABLE: u8 = 0xdb;
pub(crate) const RESPONSE_SUBSCRIBE_VEHICLE_VARIABLE: u8 = 0xe4;
pub(crate) const RESPONSE_SUBSCRIBE_SIM_VARIABLE: u8 = 0xeb;

pub(crate) const ID_LIST: u8 = 0x00;
pub(crate) const VAR_LENGTH: u8 = 0x44;
pub(crate) const VAR_SPEED: u8 = 0x40;
pub(crate) const VAR_LANE_ID: u8 = 0x51;
pub(crate) const VAR_LANEPOSITION: u8 = 0x56;
pub(crate) const VAR_ACCUMULATED_WAITING_TIME: u8 = 0x87;
pub(crate) const VAR_DEPARTED_VEHICLES_NUMBER: u8 = 0x73;
pub(crate) const VAR_DEPARTED_VEHICLES_IDS: u8 = 0x74;
pub(crate) const VAR_ARRIVED_VEHICLES_NUMBER: u8 = 0x79;
pub(crate) const TL_PHASE_INDEX: u8 = 0x22;

const TYPE_UBYTE: u8 = 0x07;
const TYPE_BYTE: u8 = 0x08;
const TYPE_INTEGER: u8 = 0x09;
const TYPE_DOUBLE: u8 = 0x0b;
const TYPE_STRING: u8 = 0x0c;
const TYPE_STRINGLIST: u8 = 0x0e;

/// A subscription's begin and end: from now (SUMO's "invalid" time) for ever.
const BEGIN_NOW: f64 = -1_073_741_824.0;
const END_NEVER: f64 = 2_147_483_647.0;

/// A value SUMO returned, by its type tag.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Int(i32),
    Double(f64),
    Str(String),
    StrList(Vec<String>),
}

impl Value {
    pub(crate) fn int(&self) -> Result<i32, SumoError> {
        match self {
            Value::Int(v) => Ok(*v),
            other => Err(protocol(format!("expected an integer, got {other:?}"))),
        }
    }

    pub(crate) fn double(&self) -> Result<f64, SumoError> {
        match self {
            Value::Double(v) => Ok(*v),
            other => Err(protocol(format!("expected a double, got {other:?}"))),
        }
    }

    pub(crate) fn into_str(self) -> Result<String, SumoError> {
        match self {
            Value::Str(v) => Ok(v),
            other => Err(protocol(format!("expected a string, got {other:?}"))),
        }
    }

    pub(crate) fn into_list(self) -> Result<Vec<String>, SumoError> {
        match self {
            Value::StrList(v) => Ok(v),
            other => Err(protocol(format!("expected a string list, got {other:?}"))),
        }
    }
}

fn protocol(message: String) -> SumoError {
    SumoError::Protocol { message }
}

/// One subscription's values after a step: the object and (variable, value) pairs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Subscription {
    pub(crate) response: u8,
    pub(crate) object: String,
    pub(crate) values: Vec<(u8, Value)>,
}

/// A command with its content, encoded with its length prefix.
pub(crate) fn command(id: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    let short = content.len() + 2;
    if short <= 255 {
        out.push(short as u8);
    } else {
        out.push(0);
        out.extend_from_slice(&((content.len() + 6) as i32).to_be_bytes());
    }
    out.push(id);
    out.extend_from_slice(content);
    out
}

/// Content builder.
#[derive(Default)]
pub(crate) struct Content(pub(crate) Vec<u8>);

impl Content {
    pub(crate) fn ubyte(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }

    pub(crate) fn raw_double(mut self, v: f64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn raw_string(mut self, s: &str) -> Self {
        self.0.extend_from_slice(&(s.len() as i32).to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    pub(crate) fn typed_int(mut self, v: i32) -> Self {
        self.0.push(TYPE_INTEGER);
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
}

/// A cursor over a received message.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, at: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], SumoError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(protocol(format!(
                "answer ends after {} bytes, {n} more expected at byte {}",
                self.buf.len(),
                self.at
            )));
        };
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }

    pub(crate) fn ubyte(&mut self) -> Result<u8, SumoError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn int(&mut self) -> Result<i32, SumoError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn double(&mut self) -> Result<f64, SumoError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_be_bytes(a))
    }

    fn count(&mut self) -> Result<usize, SumoError> {
        let n = self.int()?;
        usize::try_from(n).map_err(|_| protocol(format!("negative length {n}")))
    }

    pub(crate) fn string(&mut self) -> Result<String, SumoError> {
        let n = self.count()?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| protocol("a string that is not UTF-8".into()))
    }

    /// A command's length prefix; returns the index just past the command.
    fn length(&mut self) -> Result<usize, SumoError> {
        let start = self.at;
        let n = match self.ubyte()? {
            0 => self.count()?,
            n => usize::from(n),
        };
        Ok(start + n)
    }

    pub(crate) fn value(&mut self) -> Result<Value, SumoError> {
        Ok(match self.ubyte()? {
            TYPE_INTEGER => Value::Int(self.int()?),
            TYPE_DOUBLE => Value::Double(self.double()?),
            TYPE_STRING => Value::Str(self.string()?),
            TYPE_STRINGLIST => {
                let n = self.count()?;
                Value::StrList((0..n).map(|_| self.string()).collect::<Result<_, _>>()?)
            }
            TYPE_UBYTE => Value::Int(i32::from(self.ubyte()?)),
            TYPE_BYTE => Value::Int(i32::from(self.ubyte()? as i8)),
            t => return Err(protocol(format!("value of unsupported type 0x{t:02x}"))),
        })
    }

    /// The status answer to `command`: an error unless SUMO says it succeeded.
    pub(crate) fn status(&mut self, command: u8) -> Result<(), SumoError> {
        let end = self.length()?;
        let id = self.ubyte()?;
        let result = self.ubyte()?;
        let description = self.string()?;
        if end != self.at {
            return Err(protocol(format!(
                "status of command 0x{id:02x} has a bad length"
            )));
        }
        if id != command {
            return Err(protocol(format!(
                "answer to command 0x{id:02x} where 0x{command:02x} was sent"
            )));
        }
        if result != 0 {
            return Err(SumoError::Refused {
                command,
                message: description,
            });
        }
        Ok(())
    }

    /// A query's response command: checks its id and variable, returns the value.
    pub(crate) fn response(&mut self, id: u8, variable: u8) -> Result<Value, SumoError> {
        let end = self.length()?;
        let got = self.ubyte()?;
        let var = self.ubyte()?;
        let _object = self.string()?;
        if got != id || var != variable {
            return Err(protocol(format!(
                "response 0x{got:02x}/0x{var:02x} where 0x{id:02x}/0x{variable:02x} was expected"
            )));
        }
        let v = self.value()?;
        if end != self.at {
            return Err(protocol(format!("response 0x{got:02x} has a bad length")));
        }
        Ok(v)
    }

    /// One variable subscription's values.
    pub(crate) fn subscription(&mut self) -> Result<Subscription, SumoError> {
        let end = self.length()?;
        let response = self.ubyte()?;
        if !(0xe0..=0xef).contains(&response) {
            return Err(protocol(format!(
                "subscription response 0x{response:02x} is not a variable subscription"
            )));
        }
        let object = self.string()?;
        let n = self.ubyte()?;
        let mut values = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let var = self.ubyte()?;
            let status = self.ubyte()?;
            let value = self.value()?;
            // A variable SUMO could not give (its value is then the reason) is left out, as
            // TraCI's own clients do; the caller sees it missing.
            if status == 0 {
                values.push((var, value));
            }
        }
        if end != self.at {
            return Err(protocol(format!(
                "subscription response 0x{response:02x} has a bad length"
            )));
        }
        Ok(Subscription {
            response,
            object,
            values,
        })
    }
}

/// A connection to a SUMO server.
pub(crate) struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    pub(crate) fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends one message of `commands` and returns SUMO's whole answer.
    pub(crate) fn exchange(&mut self, commands: &[u8]) -> Result<&[u8], SumoError> {
        let total = (commands.len() + 4) as i32;
        let mut out = Vec::with_capacity(commands.len() + 4);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(commands);
        self.stream.write_all(&out).map_err(SumoError::Connection)?;
        let mut len = [0u8; 4];
        self.stream
            .read_exact(&mut len)
            .map_err(SumoError::Connection)?;
        let n = i32::from_be_bytes(len);
        let n = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(4))
            .ok_or_else(|| protocol(format!("answer of length {n}")))?;
        self.buf.resize(n, 0);
        self.stream
            .read_exact(&mut self.buf)
            .map_err(SumoError::Connection)?;
        Ok(&self.buf)
    }

    /// A get command's value.
    pub(crate) fn get(&mut self, cmd: u8, variable: u8, object: &str) -> Result<Value, SumoError> {
        let c = command(
            cmd,
            &Content::default().ubyte(variable).raw_string(object).0,
        );
        let answer = self.exchange(&c)?;
        let mut r = Reader::new(answer);
        r.status(cmd)?;
        r.response(cmd + 0x10, variable)
    }

    /// Sets a variable to an integer.
    pub(crate) fn set_int(
        &mut self,
        cmd: u8,
        variable: u8,
        object: &str,
        value: i32,
    ) -> Result<(), SumoError> {
        let content = Content::default()
            .ubyte(variable)
            .raw_string(object)
            .typed_int(value);
        let answer = self.exchange(&command(cmd, &content.0))?;
        Reader::new(answer).status(cmd)
    }

    /// Subscribes to `variables` of `object`; returns their values now.
    pub(crate) fn subscribe(
        &mut self,
        cmd: u8,
        object: &str,
        variables: &[u8],
    ) -> Result<Subscription, SumoError> {
        let mut content = Content::default()
            .raw_double(BEGIN_NOW)
            .raw_double(END_NEVER)
            .raw_string(object)
            .ubyte(variables.len() as u8);
        for &v in variables {
            content = content.ubyte(v);
        }
        let answer = self.exchange(&command(cmd, &content.0))?;
        let mut r = Reader::new(answer);
        r.status(cmd)?;
        r.subscription()
    }

    /// One simulation step; returns the subscriptions' values after it.
    pub(crate) fn step(&mut self) -> Result<Vec<Subscription>, SumoError> {
        let c = command(CMD_SIMSTEP, &Content::default().raw_double(0.0).0);
        let answer = self.exchange(&c)?;
        let mut r = Reader::new(answer);
        r.status(CMD_SIMSTEP)?;
        let n = r.count()?;
        (0..n).map(|_| r.subscription()).collect()
    }

    /// The server's API version and its name.
    pub(crate) fn version(&mut self) -> Result<(i32, String), SumoError> {
        let answer = self.exchange(&command(CMD_GETVERSION, &[]))?;
        let mut r = Reader::new(answer);
        r.status(CMD_GETVERSION)?;
        let end = r.length()?;
        if r.ubyte()? != CMD_GETVERSION {
            return Err(protocol("version answer of another command".into()));
        }
        let api = r.int()?;
        let name = r.string()?;
        if end != r.at {
            return Err(protocol("version answer has a bad length".into()));
        }
        Ok((api, name))
    }

    /// Asks SUMO to end.
    pub(crate) fn close(&mut self) -> Result<(), SumoError> {
        let answer = self.exchange(&command(CMD_CLOSE, &[]))?;
        Reader::new(answer).status(CMD_CLOSE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_take_a_long_length_past_255_bytes() {
        assert_eq!(command(0x02, &[1, 2]), vec![4, 0x02, 1, 2]);
        let long = command(0xab, &[0u8; 300]);
        assert_eq!(long[0], 0);
        assert_eq!(
            i32::from_be_bytes([long[1], long[2], long[3], long[4]]),
            306
        );
        assert_eq!(long[5], 0xab);
        assert_eq!(long.len(), 306);
    }

    fn status_bytes(id: u8, result: u8, text: &str) -> Vec<u8> {
        let mut c = vec![id, result];
        c.extend_from_slice(&(text.len() as i32).to_be_bytes());
        c.extend_from_slice(text.as_bytes());
        let mut out = vec![(c.len() + 1) as u8];
        out.extend(c);
        out
    }

    #[test]
    fn a_refusal_carries_sumos_words() {
        let bytes = status_bytes(0xc2, 0xff, "Traffic light 'X' is not known");
        let err = Reader::new(&bytes).status(0xc2).unwrap_err();
        assert!(err.to_string().contains("'X' is not known"), "{err}");
        let ok = status_bytes(0xc2, 0, "");
        assert!(Reader::new(&ok).status(0xc2).is_ok());
        assert!(Reader::new(&ok).status(0xa4).is_err());
    }

    #[test]
    fn subscriptions_and_responses_decode() {
        // A vehicle subscription: object "W_E_3", speed 13.5 and lane "W2TL".
        let mut body = vec![RESPONSE_SUBSCRIBE_VEHICLE_VARIABLE];
        body.extend_from_slice(&5i32.to_be_bytes());
        body.extend_from_slice(b"W_E_3");
        body.push(2);
        body.extend_from_slice(&[VAR_SPEED, 0, TYPE_DOUBLE]);
        body.extend_from_slice(&13.5f64.to_be_bytes());
        body.extend_from_slice(&[VAR_LANE_ID, 0, TYPE_STRING]);
        body.extend_from_slice(&4i32.to_be_bytes());
        body.extend_from_slice(b"W2TL");
        let mut bytes = vec![(body.len() + 1) as u8];
        bytes.extend(body);
        let mut r = Reader::new(&bytes);
        let s = r.subscription().unwrap();
        assert_eq!(r.at, bytes.len());
        assert_eq!(s.object, "W_E_3");
        assert_eq!(
            s.values,
            vec![
                (VAR_SPEED, Value::Double(13.5)),
                (VAR_LANE_ID, Value::Str("W2TL".into()))
            ]
        );
        // Truncated by a byte: an error, not a panic.
        assert!(Reader::new(&bytes[..bytes.len() - 1])
            .subscription()
            .is_err());
        // An ID list response.
        let mut body = vec![0xb4, ID_LIST];
        body.extend_from_slice(&0i32.to_be_bytes());
        body.push(TYPE_STRINGLIST);
        body.extend_from_slice(&2i32.to_be_bytes());
        for id in ["a", "bc"] {
            body.extend_from_slice(&(id.len() as i32).to_be_bytes());
            body.extend_from_slice(id.as_bytes());
        }
        let mut bytes = vec![(body.len() + 1) as u8];
        bytes.extend(body);
        let v = Reader::new(&bytes).response(0xb4, ID_LIST).unwrap();
        assert_eq!(v, Value::StrList(vec!["a".into(), "bc".into()]));
        assert!(Reader::new(&bytes).response(0xb4, VAR_SPEED).is_err());
    }
}
