"""UPU S10 tracking numbers: the check digit, well-formedness, and fresh numbers."""

import pytest

from returns.tracking_numbers import check_digit, is_valid, new_tracking_number


@pytest.mark.parametrize(
    ("serial", "digit"),
    [
        # The usual worked example of S10 (e.g. Wikipedia's): 4·8+7·6+3·4+1·2+2·3+4·5+8·9+2·7 = 200;
        # 200 mod 11 = 2; 11 - 2 = 9.
        ("47312482", 9),
        # 1·8+2·6+3·4+4·2+5·3+6·5+7·9+8·7 = 204; 204 mod 11 = 6; 11 - 6 = 5.
        ("12345678", 5),
        # 9·8+8·6+7·4+6·2+5·3+4·5+3·9+2·7 = 236; 236 mod 11 = 5; 11 - 5 = 6.
        ("98765432", 6),
    ],
)
def test_the_check_digit_follows_the_upu_weights(serial, digit):
    assert check_digit(serial) == digit


def test_a_remainder_of_ten_gives_the_check_digit_zero():
    # 4·3 = 12; 12 mod 11 = 1; 11 - 1 = 10, written 0.
    assert check_digit("00004000") == 0


def test_a_remainder_of_eleven_gives_the_check_digit_five():
    # The sum is a multiple of 11 (0 here, 11 = 2·2 + 7·1 below): 11 - 0 = 11, written 5.
    assert check_digit("00000000") == 5
    assert check_digit("00020001") == 5


@pytest.mark.parametrize(
    "serial",
    ["1234567", "123456789", "1234567a", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", ""],
)
def test_a_serial_that_is_not_eight_ascii_digits_is_refused(serial):
    with pytest.raises(ValueError, match="eight digits"):
        check_digit(serial)


@pytest.mark.parametrize("number", ["RR473124829CA", "RR123456785CA", "EE000000005CA"])
def test_well_formed_canadian_numbers_are_valid(number):
    assert is_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "RR473124828CA",  # wrong check digit
        "RR473124829GB",  # not Canadian
        "rr473124829CA",  # lower-case service letters
        "R1473124829CA",  # a digit among the letters
        "RR47312482XCA",  # a letter among the digits
        "RR47312482CA",  # a digit short
        "RR4731248299CA",  # a digit too many
        "RR\uff14\uff17\uff13\uff11\uff12\uff14\uff18\uff12\uff19CA",  # full-width digits
        "",
        "RR 473 124 829 CA",  # spaces are for people, not for the stored number
    ],
)
def test_malformed_numbers_are_not_valid(number):
    assert not is_valid(number)


def test_new_numbers_are_valid_returns_numbers():
    numbers = {new_tracking_number() for _ in range(200)}
    assert all(is_valid(number) and number.startswith("RR") for number in numbers)
    assert len(numbers) > 190  # drawn at random from 10**8 serials
