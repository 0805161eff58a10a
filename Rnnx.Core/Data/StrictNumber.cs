using System.Globalization;

namespace Rnnx.Data;

/// <summary>
/// Number parsing for text from outside (CSV cells, command-line options, file metadata): invariant culture, and nothing
/// accepted that is not written as a number (.NET's parsers accept trailing NUL characters, so <c>"5\0"</c> would
/// otherwise be 5).
/// </summary>
public static class StrictNumber
{
    /// <summary>Parses an optionally signed decimal integer of ASCII digits (no spaces, no separators).</summary>
    public static bool TryParseInt(string text, out int value)
    {
        value = 0;
        if (text.Length is 0 or > 12) return false;
        int start = text[0] is '+' or '-' ? 1 : 0;
        if (start == text.Length) return false;
        for (int i = start; i < text.Length; i++)
            if (!char.IsAsciiDigit(text[i])) return false;
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Parses a finite or non-finite float64 (<c>1.5</c>, <c>-2e-3</c>); no control characters, no spaces.</summary>
    public static bool TryParseDouble(string text, out double value)
    {
        value = 0;
        if (text.Length is 0 or > 64) return false;
        foreach (char c in text)
            if (!(char.IsAsciiDigit(c) || c is '+' or '-' or '.' or 'e' or 'E' || char.IsAsciiLetter(c))) return false;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
