//! Extended JSON v2 in migration commands arrives with its BSON types.

use mongodb::bson::{Bson, Document};

#[test]
fn extended_json_keeps_its_types_and_key_order() {
    let text = r#"{"insert": "a", "documents": [{"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"},
        "at": {"$date": "2024-01-01T00:00:00Z"}, "long": {"$numberLong": "5"}, "int": 5,
        "neg": -3, "big": 5000000000, "dec": {"$numberDecimal": "1.10"}, "dbl": 2.5}]}"#;
    let mut doc: Document = serde_json::from_str(text).unwrap();
    super::normalize(&mut doc);
    assert_eq!(doc.keys().next().map(String::as_str), Some("insert"));
    let inserted = doc.get_array("documents").unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert!(matches!(inserted.get("_id"), Some(Bson::ObjectId(_))));
    assert!(matches!(inserted.get("at"), Some(Bson::DateTime(_))));
    assert_eq!(inserted.get("long"), Some(&Bson::Int64(5)));
    assert_eq!(inserted.get("int"), Some(&Bson::Int32(5)));
    assert_eq!(inserted.get("neg"), Some(&Bson::Int32(-3)));
    assert_eq!(inserted.get("big"), Some(&Bson::Int64(5_000_000_000)));
    assert!(matches!(inserted.get("dec"), Some(Bson::Decimal128(_))));
    assert_eq!(inserted.get("dbl"), Some(&Bson::Double(2.5)));
}
