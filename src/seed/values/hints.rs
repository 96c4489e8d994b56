//! What a column's name (and its table's) suggests about its content: the generator chosen
//! when nothing else decides.

/// What a column name suggests about its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Email,
    FirstName,
    LastName,
    FullName,
    Username,
    Phone,
    City,
    Country,
    CountryCode,
    Street,
    Zip,
    State,
    Company,
    Url,
    Ip,
    Slug,
    Status,
    Currency,
    Title,
    Text,
    Price,
    Quantity,
    Age,
    Year,
    Rating,
    Percent,
    Iban,
    Card,
    Uuid,
    /// Product codes and SKUs: `QX-048213`.
    Code,
    None,
}

impl Hint {
    const ALL: [Hint; 31] = [
        Hint::Email,
        Hint::FirstName,
        Hint::LastName,
        Hint::FullName,
        Hint::Username,
        Hint::Phone,
        Hint::City,
        Hint::Country,
        Hint::CountryCode,
        Hint::Street,
        Hint::Zip,
        Hint::State,
        Hint::Company,
        Hint::Url,
        Hint::Ip,
        Hint::Slug,
        Hint::Status,
        Hint::Currency,
        Hint::Title,
        Hint::Text,
        Hint::Price,
        Hint::Quantity,
        Hint::Age,
        Hint::Year,
        Hint::Rating,
        Hint::Percent,
        Hint::Iban,
        Hint::Card,
        Hint::Uuid,
        Hint::Code,
        Hint::None,
    ];

    /// The hint of a generator named in overrides or masking rules ([`Hint::name`]); names of
    /// kind generators (`int`, `date`, …) and unknown names give [`Hint::None`].
    pub fn named(generator: &str) -> Hint {
        Hint::ALL
            .into_iter()
            .find(|h| h.name() == generator)
            .unwrap_or(Hint::None)
    }

    pub fn of(name: &str) -> Hint {
        hint(name)
    }

    /// Like [`Hint::of`], with the table's name to tell what a plain `name` or `title` is:
    /// a company's, a product's, a city's, or (by default) a person's.
    pub fn for_column(table: &str, column: &str) -> Hint {
        let by_column = hint(column);
        let plain = matches!(
            column.to_ascii_lowercase().as_str(),
            "name" | "title" | "display_name"
        );
        if !plain {
            return by_column;
        }
        let t = table.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
        if has(&[
            "compan", "organi", "vendor", "supplier", "employer", "brand", "tenant", "merchant",
        ]) {
            Hint::Company
        } else if has(&[
            "product", "item", "article", "book", "movie", "course", "project", "event", "task",
        ]) {
            Hint::Title
        } else if has(&["cities", "city", "town"]) {
            Hint::City
        } else if has(&["countr"]) {
            Hint::Country
        } else if has(&[
            "categor",
            "tag",
            "label",
            "group",
            "team",
            "role",
            "department",
        ]) {
            Hint::None
        } else {
            by_column
        }
    }

    /// The generator's name, as overrides spell it.
    pub fn name(self) -> &'static str {
        match self {
            Hint::Email => "email",
            Hint::FirstName => "first_name",
            Hint::LastName => "last_name",
            Hint::FullName => "name",
            Hint::Username => "username",
            Hint::Phone => "phone",
            Hint::City => "city",
            Hint::Country => "country",
            Hint::CountryCode => "country_code",
            Hint::Street => "street",
            Hint::Zip => "zip",
            Hint::State => "state",
            Hint::Company => "company",
            Hint::Url => "url",
            Hint::Ip => "ip",
            Hint::Slug => "slug",
            Hint::Status => "status",
            Hint::Currency => "currency",
            Hint::Title => "title",
            Hint::Text => "text",
            Hint::Price => "price",
            Hint::Quantity => "quantity",
            Hint::Age => "age",
            Hint::Year => "year",
            Hint::Rating => "rating",
            Hint::Percent => "percent",
            Hint::Iban => "iban",
            Hint::Card => "card",
            Hint::Uuid => "uuid",
            Hint::Code => "code",
            Hint::None => "words",
        }
    }
}

fn hint(name: &str) -> Hint {
    let n = name.to_ascii_lowercase();
    let has = |w: &str| n.contains(w);
    let is = |w: &str| n == w || n.ends_with(&format!("_{w}"));
    if has("email") || has("e_mail") {
        Hint::Email
    } else if has("iban") {
        Hint::Iban
    } else if has("card_number") || has("cc_number") || has("credit_card") || is("pan") {
        Hint::Card
    } else if is("uuid") || is("guid") {
        Hint::Uuid
    } else if is("sku") || n == "code" || n == "product_code" || n == "item_code" {
        Hint::Code
    } else if has("first_name") || has("firstname") || has("given_name") {
        Hint::FirstName
    } else if has("last_name") || has("lastname") || has("surname") || has("family_name") {
        Hint::LastName
    } else if has("username") || has("user_name") || has("login") || has("handle") {
        Hint::Username
    } else if has("phone") || has("mobile") || has("fax") {
        Hint::Phone
    } else if has("country_code") || is("iso2") {
        Hint::CountryCode
    } else if has("country") {
        Hint::Country
    } else if has("city") || has("town") {
        Hint::City
    } else if has("street") || has("address") {
        Hint::Street
    } else if has("zip") || has("postal") || has("postcode") {
        Hint::Zip
    } else if has("state") || has("province") || has("region") {
        Hint::State
    } else if has("company") || has("organization") || has("organisation") || has("employer") {
        Hint::Company
    } else if has("url") || has("website") || has("homepage") || has("link") {
        Hint::Url
    } else if is("ip") || has("ip_address") {
        Hint::Ip
    } else if has("slug") {
        Hint::Slug
    } else if has("status") || has("state") || is("kind") || is("type") {
        Hint::Status
    } else if has("currency") {
        Hint::Currency
    } else if is("title") || is("subject") || is("headline") {
        Hint::Title
    } else if has("description") || has("comment") || has("body") || has("note") || has("bio") {
        Hint::Text
    } else if has("name") {
        Hint::FullName
    } else if has("price") || has("amount") || has("total") || has("cost") || has("balance") {
        Hint::Price
    } else if has("qty") || has("quantity") || is("count") {
        Hint::Quantity
    } else if is("age") {
        Hint::Age
    } else if is("year") {
        Hint::Year
    } else if has("rating") || has("score") || has("stars") {
        Hint::Rating
    } else if has("percent") || has("pct") || has("ratio") {
        Hint::Percent
    } else {
        Hint::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_found_by_name() {
        for hint in Hint::ALL {
            assert_eq!(Hint::named(hint.name()), hint);
        }
        assert_eq!(Hint::named("name"), Hint::FullName);
        assert_eq!(Hint::named("timestamp"), Hint::None);
    }

    #[test]
    fn hints_follow_column_names() {
        assert_eq!(hint("contact_email"), Hint::Email);
        assert_eq!(hint("first_name"), Hint::FirstName);
        assert_eq!(hint("full_name"), Hint::FullName);
        assert_eq!(hint("unit_price"), Hint::Price);
        assert_eq!(hint("order_status"), Hint::Status);
        assert_eq!(hint("id"), Hint::None);
    }
}
