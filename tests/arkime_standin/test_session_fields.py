"""The stand-in viewer against fanwatch's session field table (common/session_fields.h): every
db field the producer reads is one the stand-in hands back as a single value, the counters it
reports as -1 when missing are fanwatch's counters, and every expression name a rule may use
means the same db field in the stand-in's expression language (standin_expr.py)."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'support'))

import standin_expr  # noqa: E402
import standin_query  # noqa: E402
from fwtest import session_fields  # noqa: E402


class SessionFieldsTest(unittest.TestCase):
    def setUp(self):
        self.fields = session_fields()

    def test_db_fields_are_singletons(self):
        for f in self.fields:
            if f['kind'] != 'ID':  # "id" is not a db field: the viewer adds it to every item
                self.assertIn(f['arkime'], standin_query.SINGLETON_FIELDS, f['name'])

    def test_counters_missing_as_minus_one(self):
        counters = [f['arkime'] for f in self.fields if f['kind'] == 'COUNTER']
        self.assertEqual(sorted(counters), sorted(standin_query.MISSING_AS_MINUS_ONE))
        ips = [f['arkime'] for f in self.fields if f['kind'] == 'IP']
        self.assertEqual(sorted(ips), sorted(standin_query.IP_DB_FIELDS))

    def test_expression_names(self):
        named = [f for f in self.fields if f['expr']]
        self.assertEqual(len(named), 21)
        for f in named:
            info = standin_expr._field_info(f['expr'])
            self.assertIsNotNone(info, f['expr'])
            self.assertEqual(info[1], f['arkime'], f['expr'])


if __name__ == '__main__':
    unittest.main()
