//! Passwords and access tokens: what is stored is never what the user holds.
//!
//! Passwords are hashed with argon2id (its PHC string keeps the salt and parameters). Access tokens are 48
//! random alphanumeric characters after a `lmsm_` prefix (about 285 bits), so a fast SHA-256 of the token is
//! enough to store and look it up: there is nothing to guess.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use sha2::{Digest, Sha256};

/// Every token starts with this, so a leaked one is easy to recognise in logs and by secret scanners.
pub const TOKEN_PREFIX: &str = "lmsm_";
const TOKEN_RANDOM_CHARS: usize = 48;

/// A new access token: the secret to show once, and what is stored.
#[derive(Debug, Clone)]
pub struct NewSecret {
    /// The token the user holds.
    pub token: String,
    /// Its SHA-256, hex.
    pub hash: String,
    /// Its last four characters, to tell tokens apart in a list.
    pub hint: String,
}

/// Makes a fresh random token.
pub fn new_token() -> NewSecret {
    let random: String =
        rand::rng().sample_iter(rand::distr::Alphanumeric).take(TOKEN_RANDOM_CHARS).map(char::from).collect();
    let token = format!("{TOKEN_PREFIX}{random}");
    NewSecret { hash: token_hash(&token), hint: random[random.len() - 4..].to_owned(), token }
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The argon2id hash of `password`, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Whether `password` matches `stored` (a PHC string); false for a malformed one.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let first = new_token();
        let second = new_token();
        assert_ne!(first.token, second.token);
        assert!(first.token.starts_with(TOKEN_PREFIX) && first.token.len() == TOKEN_PREFIX.len() + 48);
        assert_eq!(first.hash, token_hash(&first.token));
        assert!(!first.hash.contains(&first.token[TOKEN_PREFIX.len()..]));
        assert!(first.token.ends_with(&first.hint));
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let stored = hash_password("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &stored));
        assert!(!verify_password("correct horsf", &stored));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
