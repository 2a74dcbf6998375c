"""Spanish time phrases as written in Argentina and Spain, read relative to a fixed ``now``."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import AmbiguousTimeError, NonExistentTimeError, TimeParseError
from bot.timeparse import parse_duration
from tests.test_timeparse import read, utc

# ``now`` is Tuesday 27 November 2018, 12:00 UTC: 09:00 in Buenos Aires, 13:00 in Madrid.
SPANISH = [
    ("mañana a las 9", "Buenos Aires", "2018-11-28 12:00"),
    ("manana a las 9", "Buenos Aires", "2018-11-28 12:00"),
    ("el martes 16 hs", "Buenos Aires", "2018-11-27 19:00"),  # hoy es martes y aún no son las 16
    ("el martes 8 hs", "Buenos Aires", "2018-12-04 11:00"),  # las 8 ya pasaron: el martes que viene
    ("16:00 hora de Argentina", "London", "2018-11-27 19:00"),
    ("jueves 29 de noviembre a las 19 GMT", "Buenos Aires", "2018-11-29 19:00"),
    ("jueves 29 de noviembre de 2018 a las 16 hora de Argentina", "London", "2018-11-29 19:00"),
    ("jueves 29 de noviembre a las 19 horario de Buenos Aires", "London", "2018-11-29 22:00"),
    ("a las 7 de la tarde", "Buenos Aires", "2018-11-27 22:00"),
    ("9 de la mañana", "Buenos Aires", "2018-11-28 12:00"),  # son las 9 en punto: ya no está por delante
    ("8 de la noche", "Buenos Aires", "2018-11-27 23:00"),
    ("a las 10 de la noche hora de Londres", "Buenos Aires", "2018-11-27 22:00"),
    ("mediodía", "Buenos Aires", "2018-11-27 15:00"),
    ("mediodia", "Madrid", "2018-11-28 11:00"),
    ("al mediodía", "Buenos Aires", "2018-11-27 15:00"),
    ("medianoche", "Buenos Aires", "2018-11-28 03:00"),
    ("a medianoche", "Madrid", "2018-11-27 23:00"),
    ("pasado mañana a las 10", "Buenos Aires", "2018-11-29 13:00"),
    ("hoy a las 18", "Buenos Aires", "2018-11-27 21:00"),
    ("el próximo lunes a las 10", "Buenos Aires", "2018-12-03 13:00"),
    ("el proximo lunes a las 10", "Buenos Aires", "2018-12-03 13:00"),
    ("el lunes que viene a las 10", "Buenos Aires", "2018-12-03 13:00"),
    ("el próximo martes a las 16", "Buenos Aires", "2018-12-04 19:00"),
    ("29/11 a las 16", "Buenos Aires", "2018-11-29 19:00"),
    ("16hs", "Buenos Aires", "2018-11-27 19:00"),
    ("16 h", "Buenos Aires", "2018-11-27 19:00"),
    ("las 16:30", "Buenos Aires", "2018-11-27 19:30"),
    ("a las 16:30 hs", "Buenos Aires", "2018-11-27 19:30"),
    ("las 16 horas", "Buenos Aires", "2018-11-27 19:00"),
    ("7pm hora de Londres", "Buenos Aires", "2018-11-27 19:00"),
    ("a la una de la tarde", "Buenos Aires", "2018-11-27 16:00"),
    ("a la una del mediodía", "Buenos Aires", "2018-11-27 16:00"),
    ("a las cinco de la tarde", "Buenos Aires", "2018-11-27 20:00"),
    ("a las 7 y media de la tarde", "Buenos Aires", "2018-11-27 22:30"),
    ("a las 10 y cuarto", "Buenos Aires", "2018-11-27 13:15"),
    ("las 3 de la madrugada", "Buenos Aires", "2018-11-28 06:00"),
    ("el miércoles a las 15 horas", "Buenos Aires", "2018-11-28 18:00"),
    ("el miercoles a las 15 horas", "Buenos Aires", "2018-11-28 18:00"),
    ("miércoles 28/11 15:00", "Buenos Aires", "2018-11-28 18:00"),
    ("el sábado a las 11", "Madrid", "2018-12-01 10:00"),
    ("el sabado a las 11", "Madrid", "2018-12-01 10:00"),
    ("sábado 1 de diciembre a las 11 hora de Madrid", "London", "2018-12-01 10:00"),
    ("domingo 2 de diciembre 10:00", "Santiago", "2018-12-02 13:00"),
    ("el viernes a las 17 hora de Chile", "Buenos Aires", "2018-11-30 20:00"),
    ("el viernes 30 de noviembre a las 10 de la mañana", "Buenos Aires", "2018-11-30 13:00"),
    ("1 de enero de 2019 a las 0:00", "Buenos Aires", "2019-01-01 03:00"),
    ("3 de setiembre de 2019 a las 10", "Montevideo", "2019-09-03 13:00"),
    ("el 29 de febrero a las 12", "Buenos Aires", "2020-02-29 15:00"),
    ("a las 16 hora de FACTTIC", "London", "2018-11-27 19:00"),
    ("16:00 hora de Buenos Aires", "Berlin", "2018-11-27 19:00"),
    ("a las 21 hora de Alemania", "Buenos Aires", "2018-11-27 20:00"),
    ("a las 20 hora de España", "Buenos Aires", "2018-11-27 19:00"),
    ("a las 18 hora de Ciudad de México", "Buenos Aires", "2018-11-28 00:00"),
    ("a las 9 hora de Montevideo", "Buenos Aires", "2018-11-28 12:00"),
    ("mañana 10 hs hora de Uruguay", "London", "2018-11-28 13:00"),
    ("29/11/2018 16:00 GMT-3", "London", "2018-11-29 19:00"),
    ("16:00 UTC−3 del jueves 29 de noviembre de 2018", "London", "2018-11-29 19:00"),
    ("19:00 hora de la India el 29 de noviembre de 2018", "London", "2018-11-29 13:30"),
    ("19:00 hora de Nepal el 29/11/2018", "London", "2018-11-29 13:15"),
    ("el 15 de enero a las 12 hora de Santiago", "London", "2019-01-15 15:00"),
    ("el 15 de julio de 2018 a las 12 hora de Asunción", "London", "2018-07-15 16:00"),
    ("el 15 de julio de 2026 a las 12 hora de Paraguay", "London", "2026-07-15 15:00"),
    ("el 15 de enero de 2026 a las 12 hora de Nueva Zelanda", "London", "2026-01-14 23:00"),
    ("el 29 de marzo de 2026 a las 12 hora de Londres", "Buenos Aires", "2026-03-29 11:00"),
    ("el 29 de marzo de 2026 a las 12 hora de Berlín", "Buenos Aires", "2026-03-29 10:00"),
    ("el 8 de marzo de 2026 a las 12 hora de Nueva York", "Buenos Aires", "2026-03-08 16:00"),
    ("el 1 de noviembre de 2026 a las 12 hora de Nueva York", "Buenos Aires", "2026-11-01 17:00"),
    # What the bot itself writes in Spanish reads back; "mar" is Tuesday before a date, March after a day.
    ("jue 29 nov 2018, 16:00 Buenos Aires (UTC−3)", "London", "2018-11-29 19:00"),
    ("mar 4 dic 2018, 16:00 Buenos Aires (UTC−3)", "London", "2018-12-04 19:00"),
    ("mar 6 mar 2018, 16:00 Buenos Aires (UTC−3)", "London", "2018-03-06 19:00"),
    ("lun 3 sept 2018, 10:00 Madrid (UTC+2)", "London", "2018-09-03 08:00"),
    ("mié 28 nov 2018 15:00", "Buenos Aires", "2018-11-28 18:00"),
    ("sáb 1 dic 2018 11:00 Madrid", "London", "2018-12-01 10:00"),
    ("dom 2 dic 2018 10:00", "Buenos Aires", "2018-12-02 13:00"),
    ("vie 30 nov 2018 10:00", "Buenos Aires", "2018-11-30 13:00"),
]


@pytest.mark.parametrize(("phrase", "sender", "expected"), SPANISH, ids=[case[0] for case in SPANISH])
def test_una_frase_en_castellano_es_un_instante(phrase: str, sender: str, expected: str) -> None:
    assert read(phrase, sender).at == utc(expected)


@pytest.mark.parametrize(("phrase", "expected"), [
    ("hoy", "2018-11-27 03:00"),
    ("mañana", "2018-11-28 03:00"),
    ("pasado mañana", "2018-11-29 03:00"),
    ("el jueves", "2018-11-29 03:00"),
    ("el próximo martes", "2018-12-04 03:00"),
    ("29 de noviembre", "2018-11-29 03:00"),
    ("27 de noviembre", "2018-11-27 03:00"),
])
def test_una_fecha_sin_hora_es_el_comienzo_de_ese_dia(phrase: str, expected: str) -> None:
    when = read(phrase, "Buenos Aires")
    assert (when.at, when.has_date, when.has_time) == (utc(expected), True, False)


@pytest.mark.parametrize("phrase", ["el martes", "martes", "este martes"])
def test_el_martes_dicho_un_martes_sin_hora_es_ambiguo(phrase: str) -> None:
    with pytest.raises(AmbiguousTimeError) as raised:
        read(phrase, "Buenos Aires")
    assert raised.value.key == "time.ambiguous_day"
    assert raised.value.readings == (utc("2018-11-27 03:00"), utc("2018-12-04 03:00"))


def test_una_hora_que_el_cambio_de_horario_se_salta_da_las_dos_lecturas() -> None:
    with pytest.raises(NonExistentTimeError) as raised:
        read("el 29 de marzo de 2026 a la 1:30 hora de Londres", "Buenos Aires")
    assert raised.value.readings == (utc("2026-03-29 00:30"), utc("2026-03-29 01:30"))


def test_una_hora_que_se_repite_da_las_dos_lecturas() -> None:
    with pytest.raises(AmbiguousTimeError) as raised:
        read("el 25 de octubre de 2026 a la 1:30 hora de Londres", "Buenos Aires")
    assert raised.value.readings == (utc("2026-10-25 00:30"), utc("2026-10-25 01:30"))


def test_en_chile_la_medianoche_del_cambio_no_existe() -> None:
    with pytest.raises(NonExistentTimeError):
        read("el 6 de septiembre de 2026 a las 0:30 hora de Chile", "Buenos Aires")


@pytest.mark.parametrize(("accented", "plain"), [
    ("miércoles a las 10", "miercoles a las 10"),
    ("sábado a las 10", "sabado a las 10"),
    ("mié 28 nov 2018 10:00", "mie 28 nov 2018 10:00"),
    ("sáb 1 dic 2018 10:00", "sab 1 dic 2018 10:00"),
    ("MIÉRCOLES A LAS 10", "miercoles a las 10"),
    ("hora de Berlín 10:00", "hora de Berlin 10:00"),
    ("10:00 hora de Asunción", "10:00 hora de Asuncion"),
])
def test_los_nombres_se_leen_con_o_sin_tildes(accented: str, plain: str) -> None:
    assert read(accented, "Buenos Aires").at == read(plain, "Buenos Aires").at


@pytest.mark.parametrize("phrase", [
    "a las 25", "a las 13 de la tarde", "a las 9 de", "a las 16 hora de", "el jueves 30 de noviembre de 2018",
    "31 de junio", "hora de Narnia", "a las", "de la tarde", "el", "mañana pasado ayer",
])
def test_lo_que_no_se_entiende_se_rechaza_sin_adivinar(phrase: str) -> None:
    with pytest.raises(TimeParseError):
        read(phrase, "Buenos Aires")


@pytest.mark.parametrize(("text", "minutes"), [
    ("1 hora", 60), ("2 horas", 120), ("90 minutos", 90), ("45 min", 45), ("media hora", 30),
    ("1 hora y media", 90), ("una hora y media", 90), ("1,5 horas", 90), ("1 hora y 30 minutos", 90), ("1 h 15", 75),
])
def test_una_llamada_dura_lo_que_se_escribe(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)
